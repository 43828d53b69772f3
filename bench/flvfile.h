/* FLV files for the bench tools: load an FLV's audio tags into memory, and
 * write received audio back out as FLV (for validation against FFmpeg). */
#ifndef RXB_FLVFILE_H
#define RXB_FLVFILE_H

#include <stdint.h>
#include <stdio.h>

struct flv_frame {
	uint32_t ts;            /* milliseconds (24 bits + the extension byte) */
	uint32_t len;
	const uint8_t *body;    /* the FLV audio byte, then the payload */
};

struct flv_file {
	uint8_t *data;          /* mem: the whole file */
	struct flv_frame *frames;   /* mem: the audio tags, in file order */
	uint32_t n;
	uint32_t step_ms;       /* the last timestamp delta (packet duration) */
	uint32_t period_ms;     /* first to last timestamp plus one step */
};

/* 0, an errno value from reading, EBADMSG (not FLV, or timestamps that go
 * backwards) or ENODATA (no audio tags). */
int flvf_load(struct flv_file *f, const char *path);
void flvf_free(struct flv_file *f);

int flvf_write_header(FILE *fp);
int flvf_write_audio(FILE *fp, uint32_t ts, const uint8_t *body, uint32_t len);

#endif
