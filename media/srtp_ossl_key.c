/* The crypto of the OpenSSL SRTP backend (srtp_ossl.c): RFC 3711 key
 * derivation, AES-CM and HMAC-SHA1, with every key schedule done once per
 * session so that a packet allocates nothing.
 *
 * HMAC-SHA1 keeps two SHA_CTX states, after the key's ipad and opad blocks,
 * and copies them per packet.  SHA1_Init() and friends are deprecated in
 * OpenSSL 3, but each EVP way we measured allocates per packet on 3.0
 * (95-byte message, OpenSSL 3.0.22, 2-vCPU Xeon with SHA-NI):
 *   EVP_MAC_CTX_dup of a keyed template   484 ns, 11 allocations
 *   EVP_MAC_init(ctx, NULL, ...) again     210 ns,  2
 *   EVP_MD_CTX_copy_ex of ipad/opad states 173 ns,  2
 *   HMAC_Init_ex(ctx, NULL, ...) again     178 ns,  2
 *   SHA_CTX ipad/opad states copied        116 ns,  0
 * (3.0's EVP_MD_CTX_copy_ex duplicates the provider context each time.)
 * The engine must not allocate while audio flows, so SHA_CTX it is; should
 * the old API go, EVP_MD_CTX_copy_ex of the same two states is the fallback.
 *
 * AES-CM is OpenSSL's AES-128-CTR: its 128-bit counter only ever carries
 * out of the low 16 bits after 1 MiB, which no packet reaches.  The context
 * is keyed once; a packet sets only its IV. */
#define OPENSSL_SUPPRESS_DEPRECATED   /* SHA1_Init, SHA1_Update, SHA1_Final */
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include "srtp_int.h"

#define SHA1_BLOCK 64

/* The AES-CM IV (RFC 3711 4.1.1): salt * 2^16 XOR SSRC * 2^64 XOR index * 2^16. */
static void make_iv(uint8_t iv[16], const uint8_t salt[MSRTP_SALT_LEN], uint32_t ssrc,
		    uint64_t index)
{
	memcpy(iv, salt, MSRTP_SALT_LEN);
	iv[14] = iv[15] = 0;
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
	for (int i = 0; i < 6; i++)
		iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
}

/* The PRF of 4.3.1 (kdr 0, so r = 0): AES-CM under the master key with
 * x = label * 2^48 XOR master salt in place of the salt, over zeros.  c is
 * any cipher context; it ends up keyed with the master key. */
static int prf(EVP_CIPHER_CTX *c, const uint8_t master[MSRTP_KEY_SALT_LEN], uint8_t label,
	       uint8_t *out, size_t len)
{
	uint8_t x[MSRTP_SALT_LEN], iv[16];
	int n = 0;

	memcpy(x, master + MSRTP_KEY_LEN, sizeof(x));
	x[7] ^= label;
	make_iv(iv, x, 0, 0);
	memset(out, 0, len);
	if (!EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, master, iv) ||
	    !EVP_EncryptUpdate(c, out, &n, out, (int)len) || n != (int)len)
		return -EIO;
	return 0;
}

int osrtp_derive(const uint8_t master[MSRTP_KEY_SALT_LEN], uint8_t label, uint8_t *out,
		 size_t len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int err;

	if (!c)
		return -ENOMEM;
	err = prf(c, master, label, out, len);
	EVP_CIPHER_CTX_free(c);
	return err;
}

static void hmac_pad(SHA_CTX *st, const uint8_t auth[OSRTP_AUTH_KEY_LEN], uint8_t pad)
{
	uint8_t block[SHA1_BLOCK];

	memset(block, pad, sizeof(block));
	for (size_t i = 0; i < OSRTP_AUTH_KEY_LEN; i++)
		block[i] ^= auth[i];
	SHA1_Init(st);
	SHA1_Update(st, block, sizeof(block));
	OPENSSL_cleanse(block, sizeof(block));
}

int osrtp_keys_set(struct osrtp_keys *k, const uint8_t key[MSRTP_KEY_LEN],
		   const uint8_t salt[MSRTP_SALT_LEN], const uint8_t auth[OSRTP_AUTH_KEY_LEN])
{
	if (!k->ctr && !(k->ctr = EVP_CIPHER_CTX_new()))
		return -ENOMEM;
	if (!EVP_EncryptInit_ex(k->ctr, EVP_aes_128_ctr(), NULL, key, NULL))
		return -EIO;
	memcpy(k->salt, salt, MSRTP_SALT_LEN);
	hmac_pad(&k->inner, auth, 0x36);
	hmac_pad(&k->outer, auth, 0x5c);
	return 0;
}

int osrtp_keys_init(struct osrtp_keys *k, const uint8_t master[MSRTP_KEY_SALT_LEN],
		    uint8_t first)
{
	uint8_t key[MSRTP_KEY_LEN], auth[OSRTP_AUTH_KEY_LEN], salt[MSRTP_SALT_LEN];
	int err;

	if (!k->ctr && !(k->ctr = EVP_CIPHER_CTX_new()))
		return -ENOMEM;
	err = prf(k->ctr, master, first, key, sizeof(key));
	if (!err)
		err = prf(k->ctr, master, first + 1, auth, sizeof(auth));
	if (!err)
		err = prf(k->ctr, master, first + 2, salt, sizeof(salt));
	if (!err)
		err = osrtp_keys_set(k, key, salt, auth);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(auth, sizeof(auth));
	OPENSSL_cleanse(salt, sizeof(salt));
	return err;
}

void osrtp_keys_clear(struct osrtp_keys *k)
{
	EVP_CIPHER_CTX_free(k->ctr);   /* cleanses the key schedule */
	OPENSSL_cleanse(k, sizeof(*k));
}

int osrtp_crypt(const struct osrtp_keys *k, uint32_t ssrc, uint64_t index, uint8_t *data,
		size_t len)
{
	uint8_t iv[16];
	int n = 0;

	if (!len)
		return 0;
	make_iv(iv, k->salt, ssrc, index);
	if (!EVP_EncryptInit_ex(k->ctr, NULL, NULL, NULL, iv) ||
	    !EVP_EncryptUpdate(k->ctr, data, &n, data, (int)len) || n != (int)len)
		return -EIO;
	return 0;
}

void osrtp_hmac(const struct osrtp_keys *k, const uint8_t *msg, size_t len,
		const uint8_t roc[4], uint8_t tag[20])
{
	uint8_t inner[SHA_DIGEST_LENGTH];
	SHA_CTX c = k->inner;

	SHA1_Update(&c, msg, len);
	if (roc)
		SHA1_Update(&c, roc, 4);
	SHA1_Final(inner, &c);
	c = k->outer;
	SHA1_Update(&c, inner, sizeof(inner));
	SHA1_Final(tag, &c);
}
