/* libFuzzer target for media/dtls.c, and for the SDES key-params parser of
 * media/srtp.c.  Byte 0 picks the part:
 *   even: a passive DTLS endpoint (the side a ClientHello reaches) is fed
 *         datagrams, each a 2-byte big-endian length and its bytes; bit 1
 *         closes it at the end;
 *   odd:  the rest is key-params for msrtp_sdes_parse(); a key that parses
 *         must encode back to the same 40 base64 characters.
 * Seeds: test-vectors/dtls/ (see its README). */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "buf.h"
#include "dtls.h"
#include "mem.h"
#include "srtp.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mdtls_cert *cert;   /* made once: key generation is slow */

static void on_send(const uint8_t *pkt, size_t len, void *arg)
{
	CHECK(pkt && len > 0 && len <= MDTLS_MTU);
	(*(size_t *)arg)++;
}

static void on_done(int err, const struct mdtls_keys *keys, void *arg)
{
	CHECK(err ? !keys : !!keys);
	(void)arg;
}

static void sdes(const uint8_t *data, size_t size)
{
	uint8_t key[MSRTP_KEY_SALT_LEN];
	unsigned char b64[48];

	if (msrtp_sdes_parse((const char *)data, size, key))
		return;
	CHECK(size >= 47);
	CHECK(EVP_EncodeBlock(b64, key, sizeof(key)) == 40);
	CHECK(!memcmp(b64, data + 7, 40));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Nobody's certificate: a handshake that completes fails the check. */
	static const char fp[] = "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
				 "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00";
	struct mdtls *d = NULL;
	size_t pos = 1, sent = 0;

	if (!size)
		return 0;
	if (data[0] & 1) {
		sdes(data + 1, size - 1);
		return 0;
	}
	if (!cert)
		CHECK(mdtls_cert_generate(&cert) == 0);
	CHECK(mdtls_alloc(&d, cert, MDTLS_PASSIVE, fp, on_send, on_done, &sent) == 0);
	CHECK(mdtls_start(d) == 0);
	CHECK(sent == 0);
	while (pos + 2 <= size) {
		size_t len = be16(data + pos);

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		mdtls_recv(d, data + pos, len);
		pos += len;
		if (mdtls_timeout_ms(d) == 0)
			mdtls_on_timeout(d);
	}
	if (data[0] & 2)
		mdtls_close(d);
	CHECK(!mdtls_established(d));
	mem_deref(d);
	return 0;
}
