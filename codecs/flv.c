/* FLV audio tag byte. */
#include <errno.h>
#include "flv.h"

int flv_audio_parse(struct flv_audio *a, const uint8_t *body, size_t len)
{
	if (!len)
		return ENODATA;
	a->codec = (enum flv_codec)(body[0] >> 4);
	a->rate_idx = (body[0] >> 2) & 3;
	a->size16 = body[0] & 2;
	a->stereo = body[0] & 1;
	a->payload = body + 1;
	a->len = len - 1;
	if (a->codec == FLV_AAC) {
		if (len < 2)
			return ENODATA;
		a->payload++;
		a->len--;
	}
	return 0;
}

const char *flv_codec_name(enum flv_codec c)
{
	switch (c) {
	case FLV_PCM: return "PCM";
	case FLV_ADPCM: return "ADPCM";
	case FLV_MP3: case FLV_MP3_8K: return "MP3";
	case FLV_PCM_LE: return "PCM-LE";
	case FLV_NELLY16: case FLV_NELLY8: case FLV_NELLY: return "Nellymoser";
	case FLV_G711A: return "G.711 A-law";
	case FLV_G711U: return "G.711 mu-law";
	case FLV_AAC: return "AAC";
	case FLV_SPEEX: return "Speex";
	}
	return "unknown";
}
