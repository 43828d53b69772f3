/* libFuzzer target for gateway/amf3.c: decode any input; what decodes is
 * encoded into a bounded buffer, and what encodes must decode back to the
 * same tree.  Trees are freed with librtmp's AMFProp_Reset().
 * Seed corpus: test-vectors/amf3/. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "amf3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_aval(const AVal *a, const AVal *b)
{
	return a->av_len == b->av_len &&
	       (a->av_len <= 0 || !memcmp(a->av_val, b->av_val, (size_t)a->av_len));
}

static bool same(const AMFObjectProperty *a, const AMFObjectProperty *b)
{
	const AMFObject *x = &a->p_vu.p_object, *y = &b->p_vu.p_object;

	if (a->p_type != b->p_type || !same_aval(&a->p_name, &b->p_name))
		return false;
	switch (a->p_type) {
	case AMF_NUMBER: case AMF_BOOLEAN: case AMF_DATE:
		return !memcmp(&a->p_vu.p_number, &b->p_vu.p_number, sizeof(double)) ||
		       (isnan(a->p_vu.p_number) && isnan(b->p_vu.p_number));
	case AMF_STRING: case AMF_XML_DOC: case AMF_UNSUPPORTED:
		return same_aval(&a->p_vu.p_aval, &b->p_vu.p_aval);
	case AMF_OBJECT: case AMF_ECMA_ARRAY: case AMF_STRICT_ARRAY:
		if (x->o_num != y->o_num)
			return false;
		for (int i = 0; i < x->o_num; i++)
			if (!same(&x->o_props[i], &y->o_props[i]))
				return false;
		return true;
	default:
		return true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[1 << 16];
	AMFObjectProperty p, q;
	uint8_t *end;
	int n, m;

	/* libFuzzer passes an exact-size heap copy: overreads hit ASan */
	n = amf3_decode(&p, data, size);
	if (n < 0) {
		if (n != -ENODATA && n != -EBADMSG && n != -ENOTSUP && n != -ENOMEM)
			abort();
		if (p.p_type != AMF_INVALID)
			abort();  /* errors leave nothing to free */
		return 0;
	}
	if (n == 0 || (size_t)n > size)
		abort();
	end = amf3_encode(out, out + sizeof(out), &p);
	if (end) {
		m = amf3_decode(&q, out, (size_t)(end - out));
		if (m != end - out || !same(&p, &q))
			abort();
		AMFProp_Reset(&q);
	}
	AMFProp_Reset(&p);
	return 0;
}
