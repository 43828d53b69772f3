#!/bin/sh
# Reproducibly generate the speech test vectors used by the integration tests.
#
#   scripts/gen-speech-vectors.sh [OUTDIR]      (default: test-vectors/speech)
#
# Produces:
#   speech-en.wav       espeak-ng English speech, resampled by sox to 16 kHz mono s16
#   speech-en-fpp1.flv  Speex wideband (16 kHz mono) in FLV, 1 frame (20 ms) per packet
#   speech-en-fpp2.flv  Speex wideband (16 kHz mono) in FLV, 2 frames (40 ms) per packet
#
# Requires: espeak-ng, sox, ffmpeg built with libspeex.
# All steps are deterministic: espeak-ng is deterministic for a fixed
# voice/speed/pitch/text, sox runs with -R (repeatable) and -D (no dither),
# ffmpeg runs with bitexact flags and without metadata.  Running the script
# twice yields byte-identical files (checked with sha256sum in the README).
set -eu

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
OUTDIR=${1:-"$SCRIPT_DIR/../test-vectors/speech"}
mkdir -p "$OUTDIR"

VOICE=en-us
SPEED=155      # words per minute
PITCH=50
AMPLITUDE=100
TEXT="The quick brown fox jumps over the lazy dog. Please call me back at half past five."

# Speex encoder settings (ffmpeg libspeex):
#   -cbr_quality 8       constant bit rate, quality 8 (~27.8 kbit/s in wideband)
#   -compression_level 3 encoder complexity 3
#   -vad 0 -dtx 0        no voice activity detection / discontinuous transmission
SPEEX_OPTS="-cbr_quality 8 -compression_level 3 -vad 0 -dtx 0"

for t in espeak-ng sox ffmpeg; do
    command -v "$t" >/dev/null 2>&1 || { echo "missing tool: $t" >&2; exit 1; }
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# 1. Speech synthesis (espeak-ng writes 22050 Hz mono s16 WAV).
espeak-ng -v "$VOICE" -s "$SPEED" -p "$PITCH" -a "$AMPLITUDE" -w "$TMP/raw.wav" "$TEXT"

# 2. Resample to 16 kHz mono signed 16-bit.
sox -R -D "$TMP/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$OUTDIR/speech-en.wav"

# 3. Speex wideband in FLV, 1 and 2 frames per packet.
for n in 1 2; do
    # shellcheck disable=SC2086
    ffmpeg -nostdin -hide_banner -loglevel error -y \
        -i "$OUTDIR/speech-en.wav" \
        -map 0:a -map_metadata -1 \
        -c:a libspeex -ar 16000 -ac 1 -frames_per_packet "$n" $SPEEX_OPTS \
        -fflags +bitexact -flags +bitexact \
        -f flv "$OUTDIR/speech-en-fpp$n.flv"
done

ls -l "$OUTDIR"/speech-en.wav "$OUTDIR"/speech-en-fpp1.flv "$OUTDIR"/speech-en-fpp2.flv
