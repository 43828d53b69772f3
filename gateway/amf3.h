/* AMF3 decoding into librtmp's AMF property tree, and AMF3 encoding.
 *
 * AS3 clients default to objectEncoding 3, so their commands arrive as type
 * 17 messages whose values switch to AMF3 with the 0x11 marker.  Decoding
 * into librtmp's AMFObjectProperty lets command handling ignore which
 * encoding the client used.
 *
 * Mapping: undefined/null -> AMF_NULL; false/true -> AMF_BOOLEAN;
 * integer/double -> AMF_NUMBER; string -> AMF_STRING; XML/XMLDocument ->
 * AMF_XML_DOC; date -> AMF_DATE; array with only a dense part ->
 * AMF_STRICT_ARRAY, with an associative part -> AMF_ECMA_ARRAY (named
 * associative members first, then the dense members unnamed); object ->
 * AMF_OBJECT (sealed members, then dynamic members; the class name is
 * dropped); byte array -> AMF_UNSUPPORTED with p_aval holding the bytes.
 * String, object and trait references are resolved (a referenced object is
 * deep-copied as it is at that point: a reference to an object still being
 * decoded, i.e. a cycle, copies it with the referencing member still null).
 * Every AVal points into the input buffer (empty strings are {NULL, 0}), so
 * the buffer must outlive the property.  Free the result with
 * AMFProp_Reset(), which frees objects and both kinds of arrays. */
#ifndef RX_AMF3_H
#define RX_AMF3_H

#include <stddef.h>
#include <stdint.h>
#include <librtmp/amf.h>

/* At most this many arrays/objects nested, decoding (copies included) and
 * encoding. */
#define AMF3_MAX_DEPTH 32

/* Decode one AMF3 value into *prop (overwritten, name cleared).  Returns the
 * number of bytes consumed (> 0) or -errno: -ENODATA when truncated (also a
 * declared count larger than the bytes left), -EBADMSG when malformed (bad
 * reference, bad marker, too deep, or references expanding the tree past
 * 4 properties per input byte plus 64, 2^20 at most), -ENOTSUP for
 * externalizable objects, vectors and dictionaries, -ENOMEM.  On error
 * *prop is left empty (AMF_INVALID, nothing to free). */
int amf3_decode(AMFObjectProperty *prop, const uint8_t *buf, size_t len);

/* Encode prop as one AMF3 value (without the AMF0 0x11 switch marker) into
 * [p, end); prop's own name is ignored.  Objects become anonymous dynamic
 * objects (every member needs a name); ECMA arrays become arrays with the
 * named members in the associative part and the unnamed ones in the dense
 * part, so decoded values encode back; strict arrays become dense arrays.
 * Numbers that are integers in [-2^28, 2^28) (but not -0) are written as
 * integers, other numbers as doubles; AMF_UNDEFINED as undefined, AMF_XML_DOC as
 * XMLDocument, AMF_UNSUPPORTED as a byte array.  Strings are written
 * inline, never as references.  Returns the end of what was written, or
 * NULL when it does not fit or prop cannot be expressed (other types, an
 * unnamed object member, nesting deeper than AMF3_MAX_DEPTH). */
uint8_t *amf3_encode(uint8_t *p, uint8_t *end, const AMFObjectProperty *prop);

#endif
