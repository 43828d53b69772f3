/* Self-test of the bench tools' pure parts: AMF0 written and read back,
 * the URL parser, and the FLV reader on a corpus file.
 *
 *   selftest CORPUS_DIR        (exit 0 when every check passes) */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "amf0.h"
#include "flvfile.h"
#include "mem.h"
#include "rtmpcli.h"

static int failures;

#define CHECK(c) do { if (!(c)) { failures++; \
	fprintf(stderr, "selftest: %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static void test_amf0(void)
{
	struct buf b;
	struct amf0_r r, r2;
	char s[32], code[64];
	size_t obj;
	double v;

	buf_init(&b);
	CHECK(!amf0_w_str(&b, "onStatus") && !amf0_w_num(&b, 3.5) && !amf0_w_null(&b));
	obj = buf_unread(&b);
	CHECK(!amf0_w_obj_start(&b) && !amf0_w_key(&b, "level") && !amf0_w_str(&b, "status"));
	CHECK(!amf0_w_key(&b, "nested") && !amf0_w_obj_start(&b) && !amf0_w_key(&b, "code") &&
	      !amf0_w_bool(&b, true) && !amf0_w_obj_end(&b));
	CHECK(!amf0_w_key(&b, "code") && !amf0_w_str(&b, "NetStream.Play.Start"));
	CHECK(!amf0_w_obj_end(&b));
	r = (struct amf0_r){buf_head(&b), buf_head(&b) + buf_unread(&b)};
	CHECK(!amf0_r_str(&r, s, sizeof(s)) && !strcmp(s, "onStatus"));
	CHECK(!amf0_r_num(&r, &v) && v == 3.5);
	CHECK(!amf0_skip(&r));
	r2 = r;
	CHECK(!amf0_r_prop_str(&r, "code", code, sizeof(code)));
	CHECK(!strcmp(code, "NetStream.Play.Start"));   /* the nested "code" is not a string */
	CHECK(r.p == r.end);
	CHECK(!amf0_skip(&r2) && r2.p == r.end);
	/* A truncated object is refused, never read past. */
	for (size_t n = obj; n < buf_unread(&b); n++) {
		struct amf0_r t = {buf_head(&b) + obj, buf_head(&b) + n}, t2 = t;
		CHECK(amf0_skip(&t) == EBADMSG);
		CHECK(amf0_r_prop_str(&t2, "code", code, sizeof(code)) == EBADMSG);
	}
	buf_reset(&b);
}

static void test_url(void)
{
	struct cli_target t;

	CHECK(!cli_target_parse(&t, "rtmp://127.0.0.1:1936/xmpp"));
	CHECK(t.port == 1936 && !strcmp(t.app, "xmpp") && !strcmp(t.host, "127.0.0.1"));
	CHECK(!cli_target_parse(&t, "rtmp://127.0.0.1/live") && t.port == 1935);
	CHECK(cli_target_parse(&t, "http://127.0.0.1/xmpp") == EINVAL);
	CHECK(cli_target_parse(&t, "rtmp://127.0.0.1/xmpp/echo") == EINVAL);
	CHECK(cli_target_parse(&t, "rtmp://127.0.0.1:0/xmpp") == EINVAL);
}

static void test_flv(const char *dir)
{
	struct flv_file f;
	char path[512];

	snprintf(path, sizeof(path), "%s/speech-en-q8-fpp4-b2.flv", dir);
	CHECK(!flvf_load(&f, path));
	CHECK(f.n == 60 && f.step_ms == 80 && f.period_ms == 4800);
	CHECK(f.n && f.frames[0].ts == 0 && f.frames[0].body[0] == 0xB2);
	flvf_free(&f);
	snprintf(path, sizeof(path), "%s/manifest.tsv", dir);
	CHECK(flvf_load(&f, path) == EBADMSG);
}

int main(int argc, char **argv)
{
	struct mem_stat st;

	if (argc != 2) {
		fprintf(stderr, "usage: selftest CORPUS_DIR\n");
		return 2;
	}
	test_amf0();
	test_url();
	test_flv(argv[1]);
	mem_get_stat(&st);
	CHECK(st.blocks == 0);   /* everything allocated was freed */
	if (!failures)
		printf("selftest: ok\n");
	return failures ? 1 : 0;
}
