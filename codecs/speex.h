/* Speex frame walker: split an RTMP Speex payload (the bytes after the FLV
 * tag byte) into wideband frames without decoding, copy one frame out as an
 * RFC 5574 RTP payload, and join frames back into one payload.  Pure
 * functions over buffers: no allocation, no state.
 *
 * What a frame is (as libspeex's decoder reads it, nb_celp.c and sb_celp.c):
 *   [in-band message]*  narrowband core  [wideband layer]
 * - narrowband core: 1 bit 0 (no wideband), 4-bit mode 0..8; its length,
 *   header included, is {5,43,119,160,220,300,364,492,79} bits by mode;
 * - wideband layer: 1 bit 1, 3-bit submode 0..4; {4,36,112,192,352} bits
 *   with its header.  The libspeex encoder always writes it (submode 0 under
 *   DTX); the decoder accepts a frame without it, and so do we;
 * - mode 14 is an in-band request: a 4-bit id, then 1, 4, 8, 16, 32 or 64
 *   bits for ids 0-1, 2-7, 8-9, 10-11, 12-13, 14-15 (stereo is id 9);
 * - mode 13 is a user message: a 4-bit size n, then 5 + 8n bits (what the
 *   decoder's default handler skips; the manual's "5-bit size" is not what
 *   libspeex does);
 * - mode 15 is the terminator: the decoder stops reading the packet.
 * In-band messages count as part of the frame they precede: the decoder
 * handles them while decoding that frame, so they travel in its RTP payload.
 * In-band messages with no frame after them are an error.  A second
 * wideband layer (ultra-wideband) is an error: the gateway is 16 kHz only.
 *
 * Padding: speex_bits_write() (like speex_bits_insert_terminator()) ends a
 * packet that is not byte-aligned with one 0 bit and then 1 bits up to the
 * byte boundary, nothing when aligned; 5 or more such bits read as mode 15.
 * FFmpeg writes fpp > 1 frames back to back (bit-packed) with this padding
 * once at the end, and at end of stream adds whole 5-bit terminators
 * (01111) in place of missing frames.  Flash may pad each frame on its own
 * (byte-padded). */
#ifndef RX_SPEEX_H
#define RX_SPEEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEEX_MAX_FRAMES 32
#define SPEEX_WB_SAMPLES 320      /* per frame: 20 ms at 16 kHz */
#define SPEEX_MAX_PAYLOAD 1048576 /* bytes; longer payloads are refused */

struct speex_frame {
	uint32_t bit_off;   /* first bit in the payload, in-band messages included */
	uint32_t bits;      /* length in bits, without padding */
};

/* Walk a payload of wideband frames into f[0..max).  Returns the frame
 * count (0 for an empty payload or one holding only a terminator), or
 * -EBADMSG when the bits do not form whole frames followed only by
 * terminators and padding, -E2BIG past max frames, -EMSGSIZE past
 * SPEEX_MAX_PAYLOAD.  f may be NULL with max 0, to count.
 *
 * Layout detection: the payload is read bit-packed (frames back to back)
 * and byte-padded (each frame followed by terminator padding to the next
 * byte boundary).  The first reading that works wins, in this order:
 * bit-packed and clean, byte-padded and clean, bit-packed, byte-padded.
 * Clean means what encoders write: every frame has its wideband layer and
 * no in-band message.  Over the whole speech vector at every quality,
 * with and without VAD/DTX, fpp 2..8, the bit-packed reading of a
 * byte-padded packet worked for 0.2% of the packets and the byte-padded
 * reading of a bit-packed one for 1%, but never cleanly.
 * *padded (if not NULL) is true when the byte-padded reading was taken; it
 * is false whenever the two readings agree (one frame, aligned frames). */
int speex_walk(const uint8_t *p, size_t len, struct speex_frame *f, int max, bool *padded);

/* Bytes one frame takes on its own, padded: ceil(bits / 8). */
static inline size_t speex_frame_bytes(const struct speex_frame *f)
{
	return ((size_t)f->bits + 7) / 8;
}

/* Copy frame f of payload p to out, starting on a byte boundary and padded
 * as speex_bits_write() pads: the bytes libspeex writes for that frame
 * encoded alone, i.e. one RFC 5574 payload.  Returns the bytes written,
 * -ENOSPC if cap is too small, -EINVAL if f lies outside p. */
int speex_frame_copy(const uint8_t *p, size_t len, const struct speex_frame *f,
		     uint8_t *out, size_t cap);

/* Join the frames of n payloads (each walked with speex_walk: one frame, as
 * from speex_frame_copy or RTP, or several in either layout) bit-packed into
 * one payload, padded once at the end: what FFmpeg writes for fpp > 1.
 * Returns the bytes written, -ENOSPC, or speex_walk's error for a bad
 * input (-E2BIG past SPEEX_MAX_FRAMES frames in total). */
int speex_pack(const uint8_t *const *in, const size_t *lens, int n, uint8_t *out, size_t cap);

#endif
