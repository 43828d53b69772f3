/* FLV audio tags in and out (see flvfile.h). */
#include <errno.h>
#include <string.h>
#include "buf.h"
#include "flvfile.h"
#include "mem.h"

#define TAG_AUDIO 8
#define TAG_HDR 11

static int read_all(const char *path, uint8_t **data, size_t *size)
{
	FILE *fp = fopen(path, "rb");
	long len;
	int err = 0;

	if (!fp)
		return errno;
	if (fseek(fp, 0, SEEK_END) || (len = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET)) {
		fclose(fp);
		return EIO;
	}
	*data = mem_alloc((size_t)len + 1, NULL);
	if (!*data)
		err = ENOMEM;
	else if (fread(*data, 1, (size_t)len, fp) != (size_t)len)
		err = EIO;
	fclose(fp);
	if (err)
		*data = mem_deref(*data);
	*size = (size_t)len;
	return err;
}

/* Count (frames == NULL) or index the audio tags. */
static uint32_t walk(const uint8_t *d, size_t size, struct flv_frame *frames)
{
	size_t i = be32(d + 5) + 4;
	uint32_t n = 0;

	while (i + TAG_HDR <= size) {
		uint32_t len = be24(d + i + 1);
		uint32_t ts = be24(d + i + 4) | (uint32_t)d[i + 7] << 24;

		if (len > size - i - TAG_HDR)
			break;   /* truncated last tag */
		if (d[i] == TAG_AUDIO && len) {
			if (frames)
				frames[n] = (struct flv_frame){ts, len, d + i + TAG_HDR};
			n++;
		}
		i += TAG_HDR + len + 4;
	}
	return n;
}

int flvf_load(struct flv_file *f, const char *path)
{
	size_t size = 0;
	int err;

	memset(f, 0, sizeof(*f));
	if ((err = read_all(path, &f->data, &size)))
		return err;
	if (size < 13 || memcmp(f->data, "FLV", 3) || be32(f->data + 5) > size - 4) {
		flvf_free(f);
		return EBADMSG;
	}
	f->n = walk(f->data, size, NULL);
	if (!f->n) {
		flvf_free(f);
		return ENODATA;
	}
	f->frames = mem_alloc(f->n * sizeof(*f->frames), NULL);
	if (!f->frames) {
		flvf_free(f);
		return ENOMEM;
	}
	walk(f->data, size, f->frames);
	for (uint32_t i = 1; i < f->n; i++) {
		if (f->frames[i].ts <= f->frames[i - 1].ts) {
			flvf_free(f);
			return EBADMSG;
		}
	}
	f->step_ms = f->n > 1 ? f->frames[f->n - 1].ts - f->frames[f->n - 2].ts : 20;
	f->period_ms = f->frames[f->n - 1].ts - f->frames[0].ts + f->step_ms;
	return 0;
}

void flvf_free(struct flv_file *f)
{
	mem_deref(f->data);
	mem_deref(f->frames);
	memset(f, 0, sizeof(*f));
}

int flvf_write_header(FILE *fp)
{
	static const uint8_t hdr[13] = {'F', 'L', 'V', 1, 4, 0, 0, 0, 9, 0, 0, 0, 0};
	return fwrite(hdr, 1, sizeof(hdr), fp) == sizeof(hdr) ? 0 : EIO;
}

int flvf_write_audio(FILE *fp, uint32_t ts, const uint8_t *body, uint32_t len)
{
	uint8_t h[TAG_HDR], tail[4];

	h[0] = TAG_AUDIO;
	put_be24(h + 1, len);
	put_be24(h + 4, ts & 0xffffff);
	h[7] = (uint8_t)(ts >> 24);
	memset(h + 8, 0, 3);
	put_be32(tail, TAG_HDR + len);
	if (fwrite(h, 1, TAG_HDR, fp) != TAG_HDR || fwrite(body, 1, len, fp) != len ||
	    fwrite(tail, 1, 4, fp) != 4)
		return EIO;
	return 0;
}
