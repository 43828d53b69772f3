/* Tests for codecs/flv.c: the audio tag byte (codec, rate, size, channels)
 * and where the payload starts, on made-up bytes and on every audio tag of
 * test-vectors/speech/speech-en-fpp1.flv (FFmpeg's Speex, 0xB6). */
#include <stdbool.h>
#include <string.h>
#include "buf.h"
#include "flv.h"
#include "mem.h"
#include "test.h"

struct tag_case {
	uint8_t tag;
	enum flv_codec codec;
	unsigned rate_idx;
	bool size16, stereo;
	const char *name;
};

static const struct tag_case cases[] = {
	{FLV_SPEEX_FLASH, FLV_SPEEX, 0, true, false, "Speex"},    /* 0xB2: Flash Player */
	{FLV_SPEEX_FFMPEG, FLV_SPEEX, 1, true, false, "Speex"},   /* 0xB6: FFmpeg */
	{0x2f, FLV_MP3, 3, true, true, "MP3"},
	{0x22, FLV_MP3, 0, true, false, "MP3"},
	{0x2d, FLV_MP3, 3, false, true, "MP3"},
	{0xe2, FLV_MP3_8K, 0, true, false, "MP3"},
	{0x62, FLV_NELLY, 0, true, false, "Nellymoser"},
	{0x6e, FLV_NELLY, 3, true, false, "Nellymoser"},
	{0x66, FLV_NELLY, 1, true, false, "Nellymoser"},
	{0x42, FLV_NELLY16, 0, true, false, "Nellymoser"},
	{0x52, FLV_NELLY8, 0, true, false, "Nellymoser"},
	{0x0f, FLV_PCM, 3, true, true, "PCM"},
	{0x1e, FLV_ADPCM, 3, true, false, "ADPCM"},
	{0x3c, FLV_PCM_LE, 3, false, false, "PCM-LE"},
	{0x72, FLV_G711A, 0, true, false, "G.711 A-law"},
	{0x82, FLV_G711U, 0, true, false, "G.711 mu-law"},
	{0xaf, FLV_AAC, 3, true, true, "AAC"},
	{0x92, (enum flv_codec)9, 0, true, false, "unknown"},
	{0xc2, (enum flv_codec)12, 0, true, false, "unknown"},
	{0xd2, (enum flv_codec)13, 0, true, false, "unknown"},
	{0xf2, (enum flv_codec)15, 0, true, false, "unknown"},
};

int test_flv_tag_byte(void)
{
	TEST_EQ(FLV_SPEEX_FLASH, 0xb2);
	TEST_EQ(FLV_SPEEX_FFMPEG, 0xb6);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tag_case *c = &cases[i];
		uint8_t body[5] = {c->tag, 0x01, 0x02, 0x03, 0x04};
		struct flv_audio a;
		size_t skip = c->codec == FLV_AAC ? 2 : 1;

		memset(&a, 0x5a, sizeof(a));
		TEST_EQ(flv_audio_parse(&a, body, sizeof(body)), 0);
		TEST_EQ(a.codec, c->codec);
		TEST_EQ(a.rate_idx, c->rate_idx);
		TEST_EQ(a.size16, c->size16);
		TEST_EQ(a.stereo, c->stereo);
		TEST_ASSERT(a.payload == body + skip);
		TEST_EQ(a.len, sizeof(body) - skip);
		TEST_STREQ(flv_codec_name(a.codec), c->name);
		/* just the tag byte: an empty payload (AAC needs its packet type) */
		memset(&a, 0x5a, sizeof(a));
		if (c->codec == FLV_AAC) {
			TEST_EQ(flv_audio_parse(&a, body, 1), ENODATA);
		} else {
			TEST_EQ(flv_audio_parse(&a, body, 1), 0);
			TEST_ASSERT(a.payload == body + 1);
			TEST_EQ(a.len, 0);
		}
	}
	return 0;
}

/* AAC: the packet type byte (0 sequence header, 1 raw) is not payload. */
int test_flv_aac(void)
{
	static const uint8_t seq[] = {0xaf, 0x00, 0x12, 0x10};
	static const uint8_t raw[] = {0xaf, 0x01, 0x21, 0x1b, 0x94};
	static const uint8_t two[] = {0xae, 0x01};
	struct flv_audio a;

	TEST_EQ(flv_audio_parse(&a, seq, sizeof(seq)), 0);
	TEST_EQ(a.codec, FLV_AAC);
	TEST_ASSERT(a.payload == seq + 2);
	TEST_EQ(a.len, 2);
	TEST_EQ(a.payload[0], 0x12);
	TEST_EQ(flv_audio_parse(&a, raw, sizeof(raw)), 0);
	TEST_ASSERT(a.payload == raw + 2);
	TEST_EQ(a.len, 3);
	TEST_MEMEQ(a.payload, a.len, raw + 2, 3);
	/* the packet type alone: nothing after it */
	TEST_EQ(flv_audio_parse(&a, two, sizeof(two)), 0);
	TEST_EQ(a.codec, FLV_AAC);
	TEST_EQ(a.stereo, false);
	TEST_EQ(a.len, 0);
	TEST_ASSERT(a.payload == two + 2);
	TEST_EQ(flv_audio_parse(&a, seq, 1), ENODATA);
	return 0;
}

int test_flv_empty(void)
{
	static const uint8_t b[1] = {0xb6};
	struct flv_audio a;

	TEST_EQ(flv_audio_parse(&a, b, 0), ENODATA);
	TEST_EQ(flv_audio_parse(&a, NULL, 0), ENODATA);
	return 0;
}

/* Every audio tag of the Speex file FFmpeg published: 0xB6, 70 bytes. */
static int speech_tags(const uint8_t *d, size_t n)
{
	size_t pos, audio = 0;

	TEST_ASSERT(n > 13 && !memcmp(d, "FLV\x01", 4));
	TEST_EQ(be32(d + 5), 9);
	for (pos = 13; pos + 11 <= n;) {
		uint32_t size = be24(d + pos + 1);
		uint32_t ts = be24(d + pos + 4) | (uint32_t)d[pos + 7] << 24;
		struct flv_audio a;

		TEST_ASSERT(pos + 11 + size + 4 <= n);
		if (d[pos] == 8) {
			TEST_EQ(flv_audio_parse(&a, d + pos + 11, size), 0);
			TEST_EQ(a.codec, FLV_SPEEX);
			TEST_STREQ(flv_codec_name(a.codec), "Speex");
			TEST_EQ(a.rate_idx, 1);
			TEST_ASSERT(a.size16 && !a.stereo);
			TEST_ASSERT(a.payload == d + pos + 12);
			TEST_EQ(a.len, 70);
			TEST_EQ(ts, 20 * audio);
			audio++;
		}
		TEST_EQ(be32(d + pos + 11 + size), 11 + size);  /* previous tag size */
		pos += 11 + size + 4;
	}
	TEST_EQ(pos, n);
	TEST_EQ(audio, 314);
	return 0;
}

int test_flv_speech_vector(void)
{
	uint8_t *d;
	size_t n;
	int err = test_load_vector("speech/speech-en-fpp1.flv", &d, &n);

	if (err)
		return err;
	err = speech_tags(d, n);
	mem_deref(d);
	return err;
}
