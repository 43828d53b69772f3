/* RTMP command messages over librtmp's AMF0 and our AMF3. */
#include <errno.h>
#include <string.h>
#include "amf.h"
#include "amf3.h"
#include "buf.h"

enum {
	M_NUMBER = 0, M_BOOL, M_STRING, M_OBJECT, M_MOVIECLIP, M_NULL, M_UNDEFINED,
	M_REFERENCE, M_ECMA, M_OBJECT_END, M_STRICT, M_DATE, M_LONG_STRING,
	M_UNSUPPORTED, M_RECORDSET, M_XML, M_TYPED, M_AVMPLUS,
};

static int check_value(const uint8_t *p, size_t len, int depth);

/* name/value pairs up to the 00 00 09 end marker */
static int check_props(const uint8_t *p, size_t len, int depth)
{
	size_t pos = 0;

	for (;;) {
		size_t nl;
		int n;

		if (len - pos < 3)
			return -ENODATA;
		nl = be16(p + pos);
		if (nl == 0 && p[pos + 2] == M_OBJECT_END)
			return (int)(pos + 3);
		pos += 2;
		if (len - pos < nl + 1)
			return -ENODATA;
		pos += nl;
		n = check_value(p + pos, len - pos, depth);
		if (n < 0)
			return n;
		pos += (size_t)n;
	}
}

static int check_value(const uint8_t *p, size_t len, int depth)
{
	size_t need;
	int n;

	if (len < 1)
		return -ENODATA;
	if (depth > AMF0_MAX_DEPTH)
		return -EBADMSG;
	switch (p[0]) {
	case M_NUMBER: need = 9; break;
	case M_BOOL: need = 2; break;
	case M_NULL: case M_UNDEFINED: case M_UNSUPPORTED: need = 1; break;
	case M_DATE: need = 11; break;
	case M_STRING:
		if (len < 3)
			return -ENODATA;
		need = 3 + be16(p + 1);
		break;
	case M_LONG_STRING: case M_XML:
		if (len < 5)
			return -ENODATA;
		need = 5 + (size_t)be32(p + 1);
		break;
	case M_OBJECT:
		n = check_props(p + 1, len - 1, depth + 1);
		return n < 0 ? n : n + 1;
	case M_ECMA:
		if (len < 5)
			return -ENODATA;
		n = check_props(p + 5, len - 5, depth + 1);
		return n < 0 ? n : n + 5;
	case M_STRICT: {
		uint32_t count;
		size_t pos = 5;
		if (len < 5)
			return -ENODATA;
		count = be32(p + 1);
		if (count > len - 5)   /* every value takes at least one byte */
			return -ENODATA;
		while (count--) {
			n = check_value(p + pos, len - pos, depth + 1);
			if (n < 0)
				return n;
			pos += (size_t)n;
		}
		return (int)pos;
	}
	case M_REFERENCE: case M_TYPED: case M_AVMPLUS:
		return -ENOTSUP;
	default:
		return -EBADMSG;
	}
	if (len < need)
		return -ENODATA;
	if (need > INT32_MAX)
		return -EBADMSG;
	return (int)need;
}

int amf0_check(const uint8_t *p, size_t len)
{
	if (len > INT32_MAX)
		len = INT32_MAX;
	return check_value(p, len, 0);
}

void amf_cmd_reset(struct rtmp_cmd *cmd)
{
	for (int i = 0; i < cmd->nvals; i++)
		AMFProp_Reset(&cmd->val[i]);
	cmd->nvals = 0;
}

/* Decode one value of a command body into prop; returns bytes used or -errno. */
static int decode_value(AMFObjectProperty *prop, const uint8_t *p, size_t len, bool amf3)
{
	int n;

	memset(prop, 0, sizeof(*prop));
	if (amf3 && len && p[0] == M_AVMPLUS) {
		n = amf3_decode(prop, p + 1, len - 1);
		return n < 0 ? n : n + 1;
	}
	n = amf0_check(p, len);
	if (n < 0)
		return n;
	if (AMFProp_Decode(prop, (const char *)p, n, FALSE) != n) {
		AMFProp_Reset(prop);
		return -EBADMSG;
	}
	return n;
}

static const char *why_of(int err)
{
	switch (err) {
	case ENODATA: return "truncated AMF value";
	case ENOTSUP: return "unsupported AMF type";
	case ENOMEM: return "out of memory";
	default: return "malformed AMF value";
	}
}

int amf_cmd_decode(struct rtmp_cmd *cmd, const uint8_t *body, size_t len, bool amf3,
		   const char **why)
{
	AMFObjectProperty v;
	size_t pos = 0;
	int n;

	memset(cmd, 0, sizeof(*cmd));
	if (amf3) {
		if (len < 1) {
			*why = "empty AMF3 command";
			return ENODATA;
		}
		pos = 1;   /* format selector byte */
	}
	for (int i = 0; pos < len; i++) {
		n = decode_value(&v, body + pos, len - pos, amf3);
		if (n < 0) {
			amf_cmd_reset(cmd);
			*why = why_of(-n);
			return -n;
		}
		pos += (size_t)n;
		if (i == 0 || i == 1) {
			if (i == 0 && v.p_type == AMF_STRING)
				cmd->name = v.p_vu.p_aval;
			else if (i == 1 && v.p_type == AMF_NUMBER)
				cmd->txid = v.p_vu.p_number;
			else if (i == 0) {
				AMFProp_Reset(&v);
				amf_cmd_reset(cmd);
				*why = "command name is not a string";
				return EBADMSG;
			}
			AMFProp_Reset(&v);
			continue;
		}
		if (cmd->nvals == CMD_MAX_VALUES) {
			AMFProp_Reset(&v);
			amf_cmd_reset(cmd);
			*why = "too many command arguments";
			return E2BIG;
		}
		cmd->val[cmd->nvals++] = v;
	}
	if (!cmd->name.av_len) {
		amf_cmd_reset(cmd);
		*why = "empty command name";
		return ENODATA;
	}
	return 0;
}

const AMFObjectProperty *amf_get(const AMFObjectProperty *obj, const char *name)
{
	size_t nl = strlen(name);

	if (!obj || (obj->p_type != AMF_OBJECT && obj->p_type != AMF_ECMA_ARRAY))
		return NULL;
	for (int i = 0; i < obj->p_vu.p_object.o_num; i++) {
		const AMFObjectProperty *p = &obj->p_vu.p_object.o_props[i];
		if ((size_t)p->p_name.av_len == nl && !memcmp(p->p_name.av_val, name, nl))
			return p;
	}
	return NULL;
}

const char *amf_str(const AMFObjectProperty *v, const char *name, char *dst, size_t size)
{
	size_t n;

	if (name)
		v = amf_get(v, name);
	if (!v || v->p_type != AMF_STRING || !size)
		return NULL;
	n = (size_t)v->p_vu.p_aval.av_len;
	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, v->p_vu.p_aval.av_val, n);
	dst[n] = '\0';
	return dst;
}

bool amf_num(const AMFObjectProperty *v, const char *name, double *out)
{
	if (name)
		v = amf_get(v, name);
	if (!v || v->p_type != AMF_NUMBER)
		return false;
	*out = v->p_vu.p_number;
	return true;
}

static AVal aval(const char *s)
{
	AVal a = {(char *)(uintptr_t)s, s ? (int)strlen(s) : 0};
	return a;
}

AMFObjectProperty amfv_num(const char *name, double v)
{
	AMFObjectProperty p = {.p_name = aval(name), .p_type = AMF_NUMBER};
	p.p_vu.p_number = v;
	return p;
}

AMFObjectProperty amfv_bool(const char *name, bool v)
{
	AMFObjectProperty p = {.p_name = aval(name), .p_type = AMF_BOOLEAN};
	p.p_vu.p_number = v;
	return p;
}

AMFObjectProperty amfv_str(const char *name, const char *v)
{
	AMFObjectProperty p = {.p_name = aval(name), .p_type = AMF_STRING};
	p.p_vu.p_aval = aval(v);
	return p;
}

AMFObjectProperty amfv_null(void)
{
	AMFObjectProperty p = {.p_type = AMF_NULL};
	return p;
}

AMFObjectProperty amfv_obj(const char *name, AMFObjectProperty *props, int n)
{
	AMFObjectProperty p = {.p_name = aval(name), .p_type = AMF_OBJECT};
	p.p_vu.p_object.o_num = n;
	p.p_vu.p_object.o_props = props;
	return p;
}

AMFObjectProperty amfv_array(const char *name, AMFObjectProperty *vals, int n)
{
	AMFObjectProperty p = amfv_obj(name, vals, n);
	p.p_type = AMF_STRICT_ARRAY;
	return p;
}

static uint8_t *encode_value(uint8_t *p, uint8_t *end, bool amf3, const AMFObjectProperty *v);

/* AMF0 objects and arrays are written here, not by librtmp: its AMF_Encode()
 * skips the members that do not fit and still ends the object, so a short
 * buffer gave a well-formed but incomplete message instead of -ENOSPC, and
 * its AMFProp_Encode() leaves out the name of a null member. */
static uint8_t *encode_container(uint8_t *p, uint8_t *end, const AMFObjectProperty *v)
{
	const AMFObject *o = &v->p_vu.p_object;
	bool strict = v->p_type == AMF_STRICT_ARRAY;

	if (o->o_num < 0 || (o->o_num && !o->o_props) ||
	    end - p < (v->p_type == AMF_OBJECT ? 1 : 5))
		return NULL;
	*p++ = v->p_type == AMF_OBJECT ? M_OBJECT : strict ? M_STRICT : M_ECMA;
	if (v->p_type != AMF_OBJECT) {
		put_be32(p, (uint32_t)o->o_num);
		p += 4;
	}
	for (int i = 0; p && i < o->o_num; i++) {
		const AVal *n = &o->o_props[i].p_name;

		if (!strict) {
			if (n->av_len < 0 || n->av_len > 0xffff ||
			    (size_t)(end - p) < 2 + (size_t)n->av_len)
				return NULL;
			put_be16(p, (uint32_t)n->av_len);
			if (n->av_len)
				memcpy(p + 2, n->av_val, (size_t)n->av_len);
			p += 2 + n->av_len;
		}
		p = encode_value(p, end, false, &o->o_props[i]);
	}
	if (!p || strict)
		return p;
	if (end - p < 3)
		return NULL;
	memcpy(p, "\x00\x00\x09", 3);
	return p + 3;
}

static uint8_t *encode_value(uint8_t *p, uint8_t *end, bool amf3, const AMFObjectProperty *v)
{
	bool complex = v->p_type == AMF_OBJECT || v->p_type == AMF_ECMA_ARRAY ||
		       v->p_type == AMF_STRICT_ARRAY;
	AMFObjectProperty anon = *v;

	anon.p_name.av_len = 0;
	anon.p_name.av_val = NULL;
	if (complex && !amf3)
		return encode_container(p, end, v);
	if (amf3 && complex) {
		if (p >= end)
			return NULL;
		*p++ = M_AVMPLUS;
		return amf3_encode(p, end, &anon);
	}
	return (uint8_t *)AMFProp_Encode(&anon, (char *)p, (char *)end);
}

int amf_cmd_encode(uint8_t *p, uint8_t *end, bool amf3, const char *name, double txid,
		   const AMFObjectProperty *vals, int nvals)
{
	uint8_t *start = p;
	AVal n = aval(name);

	if (amf3) {
		if (p >= end)
			return -ENOSPC;
		*p++ = 0;
	}
	p = (uint8_t *)AMF_EncodeString((char *)p, (char *)end, &n);
	if (p)
		p = (uint8_t *)AMF_EncodeNumber((char *)p, (char *)end, txid);
	for (int i = 0; p && i < nvals; i++)
		p = encode_value(p, end, amf3, &vals[i]);
	return p ? (int)(p - start) : -ENOSPC;
}

int amf_data_encode(uint8_t *p, uint8_t *end, const AMFObjectProperty *vals, int nvals)
{
	uint8_t *start = p;

	for (int i = 0; p && i < nvals; i++)
		p = encode_value(p, end, false, &vals[i]);
	return p ? (int)(p - start) : -ENOSPC;
}
