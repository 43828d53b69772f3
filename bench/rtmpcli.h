/* A non-blocking RTMP client connection for the bench tools: the simple
 * handshake, connect, createStream, then publish or play one stream, as
 * FFmpeg does it.  The caller owns the epoll set and the clock; the wire
 * formats are gateway/chunk.c and amf0.c.
 *
 * Flow: cli_start() -> TCP connect -> C0C1 ... S0S1S2 -> C2, Set Chunk Size,
 * connect -> _result -> createStream -> _result(sid) -> publish(name, live)
 * or play(name, -2000) -> onStatus Publish.Start / Play.Start -> ready. */
#ifndef RXB_RTMPCLI_H
#define RXB_RTMPCLI_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include "amf0.h"
#include "buf.h"
#include "chunk.h"

struct cli_target {
	char host[64];
	uint16_t port;
	char app[64];
	char tcurl[256];
	struct sockaddr_in addr;   /* IPv4 only */
};

/* rtmp://HOST[:PORT]/APP -> 0, EINVAL or EHOSTUNREACH (resolved once, IPv4). */
int cli_target_parse(struct cli_target *t, const char *url);

enum cli_role { CLI_PLAY = 0, CLI_PUBLISH };
enum cli_state {
	CLI_IDLE = 0, CLI_HANDSHAKE, CLI_CONNECT, CLI_CREATE, CLI_START, CLI_READY, CLI_CLOSED,
};

struct cli;
/* An audio message arrived; now_ns is when the read that completed it returned. */
typedef void (cli_audio_h)(struct cli *c, const struct rtmp_msg *m, int64_t now_ns);
/* The stream started (err 0) or the connection failed (err, c->why set;
 * the socket is closed already). */
typedef void (cli_state_h)(struct cli *c, int err);
/* The server invoked a method we do not handle ourselves (jingle_state):
 * args reads the values after the transaction id (the null command object
 * first).  It may close c. */
typedef void (cli_invoke_h)(struct cli *c, const char *name, struct amf0_r *args);

#define CLI_NAME_MAX 64
#define CLI_FIELD_MAX 64

/* Login at connect (client-api.md "Connection"): connect's first extra
 * argument, {username, domain, password, resource, host, port}; host and
 * port are left out when empty. */
struct cli_login {
	char username[CLI_FIELD_MAX];
	char domain[CLI_FIELD_MAX];
	char password[CLI_FIELD_MAX];
	char resource[CLI_FIELD_MAX];
	char host[CLI_FIELD_MAX];
	uint16_t port;
};

struct cli {
	int fd;
	int epfd;
	enum cli_role role;
	enum cli_state state;
	const struct cli_target *tgt;
	char name[CLI_NAME_MAX];
	uint32_t sid;              /* NetStream id from createStream */
	const char *why;           /* static reason for the failure */
	char code[64];             /* last onStatus code */
	struct dechunker dc;
	struct chunker ch;
	struct buf in;
	struct buf out;
	uint64_t rx_bytes;
	uint64_t rx_acked;
	uint32_t ack_window;
	bool want_write;
	cli_audio_h *audioh;
	cli_state_h *stateh;
	cli_invoke_h *invokeh;        /* optional: set after cli_init() */
	const struct cli_login *login;   /* optional: set after cli_init() */
	void *arg;
};

int64_t cli_now_ns(void);   /* CLOCK_MONOTONIC */
void cli_init(struct cli *c, int epfd, const struct cli_target *t, enum cli_role role,
	      const char *name, cli_audio_h *ah, cli_state_h *sh, void *arg);
/* Open the socket and start connecting; 0 or an errno value. */
int cli_start(struct cli *c);
/* Handle epoll events for c's socket. */
void cli_io(struct cli *c, uint32_t events);
/* Send one audio message on the stream (publishers); 0, EPIPE or ENOMEM.
 * Bytes the socket does not take now are sent on EPOLLOUT. */
int cli_send_audio(struct cli *c, uint32_t ts, const uint8_t *body, uint32_t len);
/* Close the socket and free the buffers (no callback). */
void cli_close(struct cli *c);

#endif
