/* RTMP command messages: decoding (AMF0 type 20, AMF3 type 17) into
 * librtmp's AMF property tree, and encoding replies in the encoding the
 * client negotiated.
 *
 * librtmp's AMF0 decoder trusts its input (it recurses without limit and
 * reads length fields before checking them), so every AMF0 value is first
 * checked by amf0_check(), which is stricter, and only then decoded. */
#ifndef RX_AMF_H
#define RX_AMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <librtmp/amf.h>

#define AMF0_MAX_DEPTH 32
#define CMD_MAX_VALUES 16

struct rtmp_cmd {
	AVal name;
	double txid;
	int nvals;                       /* values after name and txid */
	AMFObjectProperty val[CMD_MAX_VALUES];  /* val[0] is the command object */
};

/* Length of the AMF0 value at p if it is well-formed and within the depth
 * limit, else -ENODATA (truncated), -EBADMSG (malformed, too deep) or
 * -ENOTSUP (reference, typed object, nested AMF3 switch). */
int amf0_check(const uint8_t *p, size_t len);
/* Decode a command message body.  The AVals point into body.  Returns 0 or
 * ENODATA/EBADMSG/ENOTSUP/E2BIG/ENOMEM; *why gets a static reason. */
int amf_cmd_decode(struct rtmp_cmd *cmd, const uint8_t *body, size_t len, bool amf3,
		   const char **why);
void amf_cmd_reset(struct rtmp_cmd *cmd);

/* Helpers over decoded values. */
const AMFObjectProperty *amf_get(const AMFObjectProperty *obj, const char *name);
/* The string value of obj.name (or of the value itself when name is NULL),
 * or NULL if absent or not a string.  Copies into dst (NUL-terminated). */
const char *amf_str(const AMFObjectProperty *v, const char *name, char *dst, size_t size);
bool amf_num(const AMFObjectProperty *v, const char *name, double *out);

/* Building values on the stack for replies. */
AMFObjectProperty amfv_num(const char *name, double v);
AMFObjectProperty amfv_bool(const char *name, bool v);
AMFObjectProperty amfv_str(const char *name, const char *v);
AMFObjectProperty amfv_null(void);
AMFObjectProperty amfv_obj(const char *name, AMFObjectProperty *props, int n);
AMFObjectProperty amfv_array(const char *name, AMFObjectProperty *vals, int n);

/* Encode a command (name, txid, values) into [p, end) in AMF0, or with
 * amf3 the type-17 form: a 0x00 byte, AMF0 name, txid, nulls, strings and
 * numbers, and 0x11 + AMF3 for objects and arrays.  Returns the number of
 * bytes written, or -ENOSPC. */
int amf_cmd_encode(uint8_t *p, uint8_t *end, bool amf3, const char *name, double txid,
		   const AMFObjectProperty *vals, int nvals);
/* Encode AMF0 values only (data messages such as onMetaData). */
int amf_data_encode(uint8_t *p, uint8_t *end, const AMFObjectProperty *vals, int nvals);

#endif
