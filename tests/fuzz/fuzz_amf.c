/* libFuzzer target for command decoding (gateway/amf.c): the input is a
 * command message body, decoded as AMF0 (type 20) and as AMF3 (type 17).
 * What decodes must re-encode, and the re-encoding must decode again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librtmp/log.h>
#include "amf.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	RTMP_LogSetLevel(RTMP_LOGCRIT);   /* librtmp logs every type it cannot encode */
	return 0;
}

static void decode(const uint8_t *data, size_t size, int amf3)
{
	static uint8_t out[1 << 17];
	struct rtmp_cmd cmd, again;
	const char *why = NULL;
	char name[256];
	int n;

	if (amf_cmd_decode(&cmd, data, size, amf3, &why)) {
		CHECK(why != NULL);
		return;
	}
	snprintf(name, sizeof(name), "%.*s", cmd.name.av_len, cmd.name.av_val);
	n = amf_cmd_encode(out, out + sizeof(out), amf3, name, cmd.txid, cmd.val, cmd.nvals);
	if (n > 0 && name[0] &&
	    amf_cmd_decode(&again, out, (size_t)n, amf3, &why) == 0) {
		CHECK(again.nvals == cmd.nvals);
		amf_cmd_reset(&again);
	}
	amf_cmd_reset(&cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode(data, size, 0);
	decode(data, size, 1);
	return 0;
}
