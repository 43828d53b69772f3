/* Tests for gateway/chunk.c.
 *
 * The dechunker is fed the FFmpeg <-> nginx-rtmp captures
 * (test-vectors/rtmp/README.md) whole and in fragments the way a socket
 * delivers them, and hand-made chunks for every header form, the extended
 * timestamp, the basic header sizes and each limit.  The chunker's output is
 * checked byte for byte, then a randomized chunker -> dechunker round trip
 * checks that the two agree on everything else.
 *
 * Every test owns its dechunker and buffers in a wrapper that frees them, so
 * an assertion may return at any point (also under --oom). */
#include <stdbool.h>
#include <string.h>
#include "buf.h"
#include "chunk.h"
#include "mem.h"
#include "test.h"
#include "chunk_util.h"


/* The AMF0 string that starts a command body. */
static bool is_cmd(const struct rec *r, const char *name)
{
	size_t n = strlen(name);
	return r->type == RTMP_CMD_AMF0 && r->len >= 3 + n && r->head[0] == 0x02 &&
	       be16(r->head + 1) == n && !memcmp(r->head + 3, name, n);
}

/* The AMF0 number after the command name: the transaction id. */
static bool txid_is(const struct rec *r, const uint8_t hi[2])
{
	size_t p = 3 + be16(r->head + 1);
	static const uint8_t zero[6];
	return r->head[p] == 0x00 && r->head[p + 1] == hi[0] && r->head[p + 2] == hi[1] &&
	       !memcmp(r->head + p + 3, zero, 6);
}

static bool has_n(const struct rec *r, const char *s, size_t n)
{
	size_t len = r->len < HEAD_MAX ? r->len : HEAD_MAX;
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(r->head + i, s, n))
			return true;
	return false;
}

/* lit is a string literal, possibly with NULs */
#define has(r, lit) has_n(r, lit, sizeof(lit) - 1)
#define HEAD_IS(r, off, lit) TEST_MEMEQ((r)->head + (off), sizeof(lit) - 1, lit, sizeof(lit) - 1)

static int check_ctl(const struct rec *r, uint8_t type, uint32_t len, uint32_t v)
{
	TEST_EQ(r->type, type);
	TEST_EQ(r->csid, 2);
	TEST_EQ(r->stream_id, 0);
	TEST_EQ(r->len, len);
	TEST_EQ(be32(r->head), v);
	return 0;
}

static int load_capture(const char *rel, uint8_t **d, size_t *len)
{
	int err = test_load_vector(rel, d, len);

	if (err)
		return err;
	if (*len <= HS_HALF || (*d)[0] != 3) {
		test_fail(__FILE__, __LINE__, "capture starts with C0/S0 3 and a handshake");
		*d = mem_deref(*d);
		return EBADMSG;
	}
	return 0;
}

static int run_capture(const char *rel, size_t *n)
{
	uint8_t *d;
	size_t len;
	int err = load_capture(rel, &d, &len);

	if (err)
		return err;
	err = feed_all_ways(&lim_big, d + HS_HALF, len - HS_HALF, n);
	mem_deref(d);
	return err;
}

static const uint8_t tx1[2] = {0x3f, 0xf0}, tx2[2] = {0x40, 0x00}, tx3[2] = {0x40, 0x08},
		     tx4[2] = {0x40, 0x10}, tx5[2] = {0x40, 0x14}, tx6[2] = {0x40, 0x18},
		     tx7[2] = {0x40, 0x1c};

/* connect -> SetChunkSize(4096) -> releaseStream -> FCPublish -> createStream
 * -> publish -> @setDataFrame -> 100 x Speex -> FCUnpublish -> deleteStream */
static int check_publish_c2s(const struct rec *r, size_t n)
{
	int cmds = 0, audio = 0;

	TEST_EQ(n, 109);
	/* connect is 140 bytes, a type-0 chunk and a continuation at 128 */
	TEST_ASSERT(is_cmd(&r[0], "connect"));
	TEST_ASSERT(txid_is(&r[0], tx1));
	TEST_EQ(r[0].len, 140);
	TEST_EQ(r[0].csid, 3);
	TEST_EQ(r[0].ts, 0);
	TEST_EQ(r[0].stream_id, 0);
	HEAD_IS(&r[0], 19, "\x03\x00\x03" "app" "\x02\x00\x04" "xmpp" "\x00\x04" "type");
	TEST_ASSERT(has(&r[0], "FMLE/3.0 (compatible; Lavf59.27.100)"));
	/* tcUrl crosses the chunk boundary: no 0xC3 inside the reassembled body */
	TEST_ASSERT(has(&r[0], "\x00\x05tcUrl\x02\x00\x1brtmp://127.0.0.1:"));
	HEAD_IS(&r[0], 140 - 8, "/xmpp\x00\x00\x09");
	if (check_ctl(&r[1], RTMP_SET_CHUNK_SIZE, 4, 4096))
		return EBADMSG;
	TEST_ASSERT(is_cmd(&r[2], "releaseStream") && txid_is(&r[2], tx2));
	TEST_ASSERT(has(&r[2], "\x05\x02\x00\x04" "echo"));
	TEST_ASSERT(is_cmd(&r[3], "FCPublish") && txid_is(&r[3], tx3));
	TEST_ASSERT(is_cmd(&r[4], "createStream") && txid_is(&r[4], tx4));
	TEST_EQ(r[4].len, 25);
	TEST_ASSERT(is_cmd(&r[5], "publish") && txid_is(&r[5], tx5));
	TEST_EQ(r[5].stream_id, 1);
	TEST_EQ(r[5].csid, 8);
	HEAD_IS(&r[5], 19, "\x05\x02\x00\x04" "echo" "\x02\x00\x04" "live");
	TEST_EQ(r[6].type, RTMP_DATA_AMF0);
	TEST_EQ(r[6].len, 209);
	TEST_EQ(r[6].csid, 4);
	TEST_EQ(r[6].stream_id, 1);
	HEAD_IS(&r[6], 0, "\x02\x00\x0d@setDataFrame\x02\x00\x0aonMetaData\x08");
	for (size_t i = 7; i < 107; i++) {
		TEST_EQ(r[i].type, RTMP_AUDIO);
		TEST_EQ(r[i].len, 71);
		TEST_EQ(r[i].head[0], 0xb6);
		TEST_EQ(r[i].csid, 4);
		TEST_EQ(r[i].stream_id, 1);
		TEST_EQ(r[i].ts, 20 * (i - 7));  /* fmt0 ts 0, fmt2 delta 20, then fmt3 */
	}
	TEST_ASSERT(is_cmd(&r[107], "FCUnpublish") && txid_is(&r[107], tx6));
	TEST_ASSERT(is_cmd(&r[108], "deleteStream") && txid_is(&r[108], tx7));
	for (size_t i = 0; i < n; i++) {
		cmds += r[i].type == RTMP_CMD_AMF0;
		audio += r[i].type == RTMP_AUDIO;
	}
	TEST_EQ(cmds, 7);
	TEST_EQ(audio, 100);
	return 0;
}

static int check_server_hello(const struct rec *r)
{
	if (check_ctl(&r[0], RTMP_WINDOW_ACK_SIZE, 4, 5000000) ||
	    check_ctl(&r[1], RTMP_SET_PEER_BW, 5, 5000000) ||
	    check_ctl(&r[2], RTMP_SET_CHUNK_SIZE, 4, 4096))
		return EBADMSG;
	TEST_EQ(r[1].head[4], 2);  /* dynamic */
	/* 190 bytes in one chunk: only parses with the chunk size applied */
	TEST_ASSERT(is_cmd(&r[3], "_result") && txid_is(&r[3], tx1));
	TEST_EQ(r[3].len, 190);
	TEST_EQ(r[3].csid, 3);
	TEST_ASSERT(has(&r[3], "\x02\x00\x0d" "FMS/3,0,1,123"));
	TEST_ASSERT(has(&r[3], "\x02\x00\x1d" "NetConnection.Connect.Success"));
	HEAD_IS(&r[3], 190 - 3, "\x00\x00\x09");
	TEST_ASSERT(is_cmd(&r[4], "_result"));
	TEST_EQ(r[4].len, 29);
	/* null, then the new stream id 1 */
	HEAD_IS(&r[4], 19, "\x05\x00\x3f\xf0\x00\x00\x00\x00\x00\x00");
	return 0;
}

/* WindowAckSize(5000000) -> SetPeerBandwidth(5000000, dynamic) ->
 * SetChunkSize(4096) -> _result(connect) -> _result(createStream) ->
 * onStatus Publish.Start -> onStatus Unpublish.Success */
static int check_publish_s2c(const struct rec *r, size_t n)
{
	TEST_EQ(n, 7);
	if (check_server_hello(r))
		return EBADMSG;
	TEST_ASSERT(txid_is(&r[4], tx4));
	for (size_t i = 5; i < 7; i++) {
		TEST_ASSERT(is_cmd(&r[i], "onStatus"));
		TEST_EQ(r[i].stream_id, 1);
		TEST_EQ(r[i].csid, 5);
	}
	TEST_ASSERT(has(&r[5], "NetStream.Publish.Start"));
	TEST_EQ(r[5].len, 105);
	TEST_ASSERT(has(&r[6], "NetStream.Unpublish.Success"));
	TEST_EQ(r[6].len, 108);
	return 0;
}

/* connect -> WindowAckSize -> createStream -> getStreamLength -> play ->
 * SetBufferLength -> deleteStream, all at the default chunk size */
static int check_play_c2s(const struct rec *r, size_t n)
{
	TEST_EQ(n, 7);
	TEST_ASSERT(is_cmd(&r[0], "connect") && txid_is(&r[0], tx1));
	TEST_EQ(r[0].len, 197);
	HEAD_IS(&r[0], 197 - 3, "\x00\x00\x09");
	if (check_ctl(&r[1], RTMP_WINDOW_ACK_SIZE, 4, 5000000))
		return EBADMSG;
	TEST_ASSERT(is_cmd(&r[2], "createStream") && txid_is(&r[2], tx2));
	TEST_ASSERT(is_cmd(&r[3], "getStreamLength") && txid_is(&r[3], tx3));
	TEST_ASSERT(is_cmd(&r[4], "play") && txid_is(&r[4], tx4));
	TEST_EQ(r[4].stream_id, 1);
	TEST_EQ(r[4].csid, 8);
	HEAD_IS(&r[4], 16, "\x05\x02\x00\x04" "echo");
	/* fmt1 with delta 1 on chunk stream 2: SetBufferLength stream 1, 3000 ms */
	TEST_EQ(r[5].type, RTMP_USER_CONTROL);
	TEST_EQ(r[5].csid, 2);
	TEST_EQ(r[5].ts, 1);
	TEST_EQ(r[5].len, 10);
	HEAD_IS(&r[5], 0, "\x00\x03\x00\x00\x00\x01\x00\x00\x0b\xb8");
	TEST_ASSERT(is_cmd(&r[6], "deleteStream") && txid_is(&r[6], tx5));
	return 0;
}

/* ... StreamBegin -> onStatus Play.Start -> |RtmpSampleAccess ->
 * onMetaData -> 253 x Speex (ts 1040..6080) -> StreamEOF */
static int check_play_s2c(const struct rec *r, size_t n)
{
	TEST_EQ(n, 263);
	if (check_server_hello(r))
		return EBADMSG;
	TEST_ASSERT(txid_is(&r[4], tx2));
	TEST_EQ(r[5].type, RTMP_USER_CONTROL);
	HEAD_IS(&r[5], 0, "\x00\x00\x00\x00\x00\x01");
	TEST_ASSERT(is_cmd(&r[6], "onStatus") && has(&r[6], "NetStream.Play.Start"));
	TEST_EQ(r[6].stream_id, 1);
	TEST_EQ(r[7].type, RTMP_DATA_AMF0);
	TEST_EQ(r[7].len, 24);
	HEAD_IS(&r[7], 0, "\x02\x00\x11|RtmpSampleAccess\x01\x01\x01\x01");
	TEST_EQ(r[8].type, RTMP_DATA_AMF0);
	TEST_EQ(r[8].len, 387);
	HEAD_IS(&r[8], 0, "\x02\x00\x0aonMetaData\x03");
	for (size_t i = 9; i < 262; i++) {
		TEST_EQ(r[i].type, RTMP_AUDIO);
		TEST_EQ(r[i].len, 71);
		TEST_EQ(r[i].head[0], 0xb6);
		TEST_EQ(r[i].csid, 6);
		TEST_EQ(r[i].stream_id, 1);
		TEST_EQ(r[i].ts, 1040 + 20 * (i - 9));  /* fmt0 then fmt1 delta 20 */
	}
	TEST_EQ(r[262].type, RTMP_USER_CONTROL);
	HEAD_IS(&r[262], 0, "\x00\x01\x00\x00\x00\x01");
	return 0;
}

int test_chunk_ffmpeg_publish(void)
{
	size_t n = 0;
	int err = run_capture("rtmp/ffmpeg-publish.c2s.bin", &n);

	if (!err)
		err = check_publish_c2s(recs_whole, n);
	if (!err)
		err = run_capture("rtmp/ffmpeg-publish.s2c.bin", &n);
	if (!err)
		err = check_publish_s2c(recs_whole, n);
	return err;
}

int test_chunk_ffmpeg_play(void)
{
	size_t n = 0;
	int err = run_capture("rtmp/ffmpeg-play.c2s.bin", &n);

	if (!err)
		err = check_play_c2s(recs_whole, n);
	if (!err)
		err = run_capture("rtmp/ffmpeg-play.s2c.bin", &n);
	if (!err)
		err = check_play_s2c(recs_whole, n);
	return err;
}

/* The chunk size governs where chunks end: @setDataFrame (209 bytes) is one
 * chunk once SetChunkSize(4096) is applied, two at the default 128. */
static int scs_matters(const uint8_t *data, size_t len, bool apply)
{
	struct dechunker d;
	size_t pos = HS_HALF, n = 0, used = 0;
	int ret, err = 0;

	dechunk_init(&d, &lim_big);
	while (n < 6) {
		struct rtmp_msg m;

		ret = dechunk_next(&d, data + pos, len - pos, &used, &m);
		pos += used;
		if (ret == EAGAIN)
			continue;
		if (ret) {
			err = ret;
			goto out;
		}
		if (apply && m.type == RTMP_SET_CHUNK_SIZE && (err = dechunk_set_chunk_size(&d, be32(m.body))))
			goto out;
		n++;
	}
	{
		struct rtmp_msg m;
		ret = dechunk_next(&d, data + pos, len - pos, &used, &m);
		if (apply ? ret != 0 || used != 12 + 209 || m.len != 209
			  : ret != EAGAIN || used != 12 + 128 || d.buffered != 128) {
			test_fail(__FILE__, __LINE__, apply ? "one chunk at 4096" : "two chunks at 128");
			err = EBADMSG;
		}
	}
out:
	dechunk_reset(&d);
	return err;
}

int test_chunk_ffmpeg_chunk_size(void)
{
	uint8_t *data;
	size_t len;
	int err = load_capture("rtmp/ffmpeg-publish.c2s.bin", &data, &len);

	if (err)
		return err;
	err = scs_matters(data, len, true);
	if (!err)
		err = scs_matters(data, len, false);
	mem_deref(data);
	return err;
}

/* --- Hand-made chunks --- */

