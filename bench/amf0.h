/* Minimal AMF0 for the bench tools: enough to write the commands an RTMP
 * client sends (and a floor server answers), and to read back a command's
 * name, transaction id, numbers and its status code.  Pure functions over
 * buffers; AMF3 values are refused. */
#ifndef RXB_AMF0_H
#define RXB_AMF0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum {
	AMF0_NUMBER = 0, AMF0_BOOL = 1, AMF0_STRING = 2, AMF0_OBJECT = 3, AMF0_NULL = 5,
	AMF0_UNDEFINED = 6, AMF0_ECMA = 8, AMF0_OBJ_END = 9, AMF0_STRICT = 10, AMF0_DATE = 11,
	AMF0_LSTRING = 12,
};

/* Writers append to b; each returns 0 or ENOMEM. */
int amf0_w_num(struct buf *b, double v);
int amf0_w_bool(struct buf *b, bool v);
int amf0_w_str(struct buf *b, const char *s);
int amf0_w_null(struct buf *b);
int amf0_w_obj_start(struct buf *b);
int amf0_w_key(struct buf *b, const char *key);   /* then one value */
int amf0_w_obj_end(struct buf *b);

/* A reader over [p, end). */
struct amf0_r {
	const uint8_t *p;
	const uint8_t *end;
};

/* Each returns 0, or EBADMSG (truncated, malformed, nested too deep, the
 * wrong type) or ENOTSUP (an AMF3 switch or a reference). */
int amf0_skip(struct amf0_r *r);
int amf0_r_str(struct amf0_r *r, char *dst, size_t size);
int amf0_r_num(struct amf0_r *r, double *v);
/* The next value is an object (or ECMA array): copy the string value of
 * its property key into dst ("" if absent) and move past the object. */
int amf0_r_prop_str(struct amf0_r *r, const char *key, char *dst, size_t size);

#endif
