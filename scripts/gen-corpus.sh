#!/bin/sh
# Reproducibly generate the recorded-stream corpus used by the benchmarks.
#
#   scripts/gen-corpus.sh [OUTDIR]        (default: test-vectors/corpus)
#
# Writes, in OUTDIR (see test-vectors/corpus/README.md for each item):
#   FLV, Speex wideband 16 kHz mono, a few seconds each:
#     speech-LANG-q8-fpp1.flv           six espeak-ng voices (en-us de fr es ru cmn)
#     speech-en-q8-fpp{2,4}.flv         frames per packet
#     speech-en-q{0,4,6,10}-fpp1.flv    CBR quality (q8 is above)
#     speech-en-q8-fpp1-vad.flv         CBR with VAD
#     speech-en-q8-fpp1-vaddtx.flv      CBR with VAD and DTX
#     speech-en-vbr8-fpp1-vaddtx.flv    VBR quality 8 with VAD and DTX
#     tone-q8-fpp1.flv, silence-q8-fpp1.flv, silence-q8-fpp1-vaddtx.flv
#     *-b2.flv                          Flash's tag byte 0xB2 (FFmpeg writes 0xB6)
#   RTP speex/16000 (payload type 97) of speech-en-q8-fpp1.flv:
#     rtp-speech-en-clean.{pcap,rtpdump}  recorded from `ffmpeg -re -f rtp`
#     rtp-speech-en-{jitter,loss,reorder,mixed}.{pcap,rtpdump}  seeded profiles
#     speech-en.sdp
#   manifest.tsv                        one line per file: what, size, sha256
#
# The FLV files are byte-reproducible with the same tool versions (espeak-ng
# and sox are deterministic, FFmpeg runs with bitexact flags).  The clean RTP
# capture records real arrival times, so it differs on every run; the
# profiles are deterministic given the capture.  Pass --keep-rtp to keep the
# committed capture and only re-derive the profiles from it.
#
# The 5-hour stream that crosses the RTMP extended-timestamp boundary is not
# stored: bench/run.py makes it at bench time with
#   bench/corpus.py flv-loop speech-en-q8-fpp1.flv long-5h.flv --seconds 18000
#
# Requires: espeak-ng, sox, ffmpeg with libspeex, /usr/bin/python3.
set -eu

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$SCRIPT_DIR")
KEEP_RTP=0
if [ "${1:-}" = "--keep-rtp" ]; then KEEP_RTP=1; shift; fi
OUTDIR=${1:-"$ROOT/test-vectors/corpus"}
TOOL="/usr/bin/python3 $ROOT/bench/corpus.py"
mkdir -p "$OUTDIR"

for t in espeak-ng sox ffmpeg; do
	command -v "$t" >/dev/null 2>&1 || { echo "missing tool: $t" >&2; exit 1; }
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# 1. Sources, 16 kHz mono s16, at most 5 s each.
say() {   # say NAME VOICE TEXT
	espeak-ng -v "$2" -s 155 -p 50 -a 100 -w "$TMP/raw-$1.wav" "$3"
	# -V1: no warning when the speech is shorter than the 5 s trim;
	# vol 0.9: headroom, so the resampler never clips.
	sox -V1 -R -D "$TMP/raw-$1.wav" -r 16000 -c 1 -b 16 -e signed-integer "$TMP/$1.wav" \
		vol 0.9 trim 0 5
}
say en en-us "Hello, this is a test call through the gateway. Can you hear me clearly?"
say de de "Hallo, dies ist ein Testanruf über das Gateway. Können Sie mich gut hören?"
say fr fr "Bonjour, ceci est un appel de test par la passerelle. Vous m'entendez bien?"
say es es "Hola, esta es una llamada de prueba por la pasarela. ¿Me oye bien?"
say ru ru "Здравствуйте, это тестовый звонок через шлюз. Вы меня хорошо слышите?"
say zh cmn "你好，这是通过网关的测试电话。你能听清楚吗？"

S16="-r 16000 -c 1 -b 16 -e signed-integer"
# shellcheck disable=SC2086
sox -R -D -n $S16 "$TMP/t1.wav" synth 1 sine 1000 vol 0.5
# shellcheck disable=SC2086
sox -R -D -n $S16 "$TMP/t2.wav" synth 2 sine 300-3400 vol 0.5
# shellcheck disable=SC2086
sox -R -D -n $S16 "$TMP/t3.wav" synth 1 sine 697 sine 1209 channels 1 vol 0.5
sox -R -D "$TMP/t1.wav" "$TMP/t2.wav" "$TMP/t3.wav" "$TMP/tone.wav"
# shellcheck disable=SC2086
sox -R -D -n $S16 "$TMP/silence.wav" trim 0 3

# 2. Speex in FLV.  enc SRC OUTNAME FPP SPEEX-OPTIONS...
enc() {
	src=$1 out=$2 fpp=$3
	shift 3
	ffmpeg -nostdin -hide_banner -loglevel error -y -i "$TMP/$src.wav" \
		-map 0:a -map_metadata -1 \
		-c:a libspeex -ar 16000 -ac 1 -frames_per_packet "$fpp" -compression_level 3 "$@" \
		-fflags +bitexact -flags +bitexact -f flv "$OUTDIR/$out.flv"
}
CBR8="-cbr_quality 8 -vad 0 -dtx 0"
for l in en de fr es ru zh; do
	# shellcheck disable=SC2086
	enc "$l" "speech-$l-q8-fpp1" 1 $CBR8
done
for n in 2 4; do
	# shellcheck disable=SC2086
	enc en "speech-en-q8-fpp$n" "$n" $CBR8
done
for q in 0 4 6 10; do
	enc en "speech-en-q$q-fpp1" 1 -cbr_quality "$q" -vad 0 -dtx 0
done
enc en speech-en-q8-fpp1-vad 1 -cbr_quality 8 -vad 1 -dtx 0
enc en speech-en-q8-fpp1-vaddtx 1 -cbr_quality 8 -vad 1 -dtx 1
enc en speech-en-vbr8-fpp1-vaddtx 1 -q:a 8 -vad 1 -dtx 1
# shellcheck disable=SC2086
enc tone tone-q8-fpp1 1 $CBR8
# shellcheck disable=SC2086
enc silence silence-q8-fpp1 1 $CBR8
enc silence silence-q8-fpp1-vaddtx 1 -cbr_quality 8 -vad 1 -dtx 1

# 3. Flash's tag byte: the same packets with 0xB2 instead of 0xB6.
for f in speech-en-q8-fpp1 speech-en-q8-fpp4 speech-en-q8-fpp1-vaddtx; do
	$TOOL flv-tagbyte "$OUTDIR/$f.flv" "$OUTDIR/$f-b2.flv" --byte 0xB2
done

# 4. RTP: record FFmpeg sending speech-en-q8-fpp1 as speex/16000, then derive
#    the impairment profiles from that capture with fixed seeds.
R="$OUTDIR/rtp-speech-en"
if [ "$KEEP_RTP" = 0 ] || [ ! -f "$R-clean.pcap" ]; then
	$TOOL rtp-record "$OUTDIR/speech-en-q8-fpp1.flv" "$R-clean.pcap" "$R-clean.rtpdump"
fi
seed=1
for p in jitter loss reorder mixed; do
	$TOOL rtp-impair "$R-clean.pcap" "$p" "$seed" "$R-$p.pcap" "$R-$p.rtpdump"
	seed=$((seed + 1))
done
cat >"$OUTDIR/speech-en.sdp" <<'EOF'
v=0
o=- 0 0 IN IP4 127.0.0.1
s=rtmp2xmpp corpus: speech-en-q8-fpp1 as RTP
c=IN IP4 127.0.0.1
t=0 0
m=audio 5004 RTP/AVP 97
a=rtpmap:97 speex/16000
EOF

# 5. Manifest: file, bytes, sha256.
(
	cd "$OUTDIR"
	printf 'file\tbytes\tsha256\n'
	for f in *.flv *.pcap *.rtpdump *.sdp; do
		printf '%s\t%s\t%s\n' "$f" "$(wc -c <"$f" | tr -d ' ')" "$(sha256sum "$f" | cut -d' ' -f1)"
	done
) >"$OUTDIR/manifest.tsv"
du -sh "$OUTDIR"
