/* RTMP handshake as a pure state machine over buffers.
 *
 * Server side only.  Accepts the simple handshake (C1 version field zero:
 * librtmp, i.e. rtmpdump and python3-librtmp) and the Flash Player 9+ digest
 * handshake (FFmpeg's native client, Flash Player), which it answers with a
 * valid server digest in S1 and a signed S2.  A C1 with a non-zero version but
 * no valid digest gets the simple answer.  C2 is read but not verified:
 * FFmpeg signs C2 only when it plays (see architecture.md).
 *
 * Digest schemes (C1/S1 offsets, as SRS names them): scheme 0 puts the digest
 * at 776 + (sum of bytes 772..775) % 728, scheme 1 at 12 + (sum of bytes
 * 8..11) % 728.  FFmpeg uses scheme 1 unencrypted, scheme 0 for RTMPE.  S1 is
 * signed with the same scheme the client used. */
#ifndef RX_HANDSHAKE_H
#define RX_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define HS_SIZE 1536

enum hs_state { HS_WAIT_C0C1 = 0, HS_WAIT_C2, HS_DONE };

struct handshake {
	enum hs_state state;
	bool digest;          /* the client used the FP9 digest scheme */
	int scheme;           /* digest offset scheme found in C1 (0 or 1), -1 if none */
	uint32_t epoch;       /* our S1 time field */
	size_t got;           /* bytes of C0+C1, then of C2, received so far */
	uint8_t c1[HS_SIZE];  /* C1 as received */
};

void handshake_init(struct handshake *hs, uint32_t epoch);
/* Feed received bytes.  Once C0+C1 is complete, appends S0+S1+S2 (3073 bytes)
 * to out in one piece.  S2 echoes C1 for the simple handshake.  Returns the
 * number of bytes consumed (never more than needed, so that chunk bytes that
 * follow C2 stay with the caller; 0 once done), or -errno: -EPROTO for a bad
 * C0 version (6 and 8 are RTMPE, anything but 3 is refused), -ENOMEM, -EIO if
 * the random generator fails.  On error *hs is as before the call.  Once
 * hs->state is HS_DONE the handshake is complete. */
int handshake_input(struct handshake *hs, const uint8_t *in, size_t len, struct buf *out);

#endif
