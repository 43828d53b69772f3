/* The FLV audio tag byte that starts every RTMP audio message. */
#ifndef RX_FLV_H
#define RX_FLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum flv_codec {
	FLV_PCM = 0, FLV_ADPCM = 1, FLV_MP3 = 2, FLV_PCM_LE = 3,
	FLV_NELLY16 = 4, FLV_NELLY8 = 5, FLV_NELLY = 6, FLV_G711A = 7,
	FLV_G711U = 8, FLV_AAC = 10, FLV_SPEEX = 11, FLV_MP3_8K = 14,
};

struct flv_audio {
	enum flv_codec codec;   /* high nibble */
	unsigned rate_idx;      /* 0..3: 5.5, 11, 22, 44 kHz (Speex: always 16 kHz) */
	bool size16;
	bool stereo;
	const uint8_t *payload; /* after the tag byte (and AAC packet type) */
	size_t len;
};

/* Parse an RTMP audio message body; ENODATA when empty. */
int flv_audio_parse(struct flv_audio *a, const uint8_t *body, size_t len);
const char *flv_codec_name(enum flv_codec c);

/* The tag bytes Speex is sent with: Flash writes 0xB2, FFmpeg 0xB6. */
#define FLV_SPEEX_FLASH 0xB2
#define FLV_SPEEX_FFMPEG 0xB6

#endif
