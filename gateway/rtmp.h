/* Internal API of the RTMP server: connection, streams, commands.
 *
 * One thread owns a server and all of its connections.  Bytes flow:
 * socket -> conn.c (handshake, dechunk) -> control.c (protocol control) or
 * cmd.c (commands) or stream.c (audio) -> conn.c (chunk, queue, socket). */
#ifndef RX_RTMP_H
#define RX_RTMP_H

#include <stdbool.h>
#include <stdint.h>
#include "amf.h"
#include "buf.h"
#include "chunk.h"
#include "config.h"
#include "handshake.h"
#include "list.h"
#include "loop.h"

#define RTMP_MAX_STREAMS 32   /* 2 per call, max_calls calls, and spares */
#define RTMP_NAME_MAX 256
#define AUDIO_SLOT 1024   /* largest audio message we queue for a player */

/* Our chunk stream ids */
enum { CSID_CONTROL = 2, CSID_CMD = 3, CSID_STREAM_CMD = 5, CSID_AUDIO = 6 };

struct server;
struct rtmp_conn;
struct xlink;
struct gcall;
struct echo_pair;
struct echobot;
struct mengine;

enum stream_role { ROLE_NONE = 0, ROLE_PUBLISH, ROLE_PLAY };

struct rtmp_stream {
	struct rtmp_conn *conn;
	uint32_t id;              /* 0: slot unused */
	enum stream_role role;
	char name[RTMP_NAME_MAX]; /* without query string */
	bool bad_codec_sent;
	bool video_noted;
	bool recv_audio;
	struct le pub_le;         /* publisher: in server's echo publishers */
	struct list subs;         /* publisher: its players */
	struct le sub_le;         /* player: in a publisher's subs or the waiting list */
	struct rtmp_stream *src;  /* player: the publisher it plays, if any */
	struct gcall *call;       /* the voice call this stream carries (call.c) */
	struct echo_pair *echo;   /* echo publisher: its media engine pair (echo.c) */
	bool echo_direct;         /* echo publisher: relayed without the engine */
};

struct audio_slot {
	uint32_t ts;
	uint32_t stream_id;
	uint32_t len;
	uint8_t data[AUDIO_SLOT];
};

struct audio_q {
	struct audio_slot *slot;  /* mem array of cap slots, allocated on first use */
	uint32_t cap, head, n;
	uint64_t dropped;
};

enum conn_state { CONN_HANDSHAKE = 0, CONN_OPEN, CONN_CLOSED };

struct rtmp_conn {
	struct le le;             /* in server's connection list */
	struct server *srv;
	uint64_t id;
	int fd;
	char peer[64];            /* "ip:port" for logs */
	char ip[48];
	enum conn_state state;
	bool connected;           /* a connect command succeeded */
	bool amf3;                /* objectEncoding 3 negotiated */
	bool want_write;
	bool draining;            /* shutting down: our side is closed */
	struct handshake hs;
	struct dechunker dc;
	struct chunker ch;
	struct buf in;
	struct buf out;           /* serialized bytes not yet written */
	struct audio_q aq;
	struct tmr tmr;           /* handshake timeout, then idle/ping */
	struct tmr close_tmr;     /* deferred close */
	const char *close_why;
	uint64_t last_rx;         /* loop_now() of the last byte received */
	bool ping_sent;
	uint64_t rx_bytes;
	uint64_t rx_acked;
	uint32_t ack_window;      /* the client's Window Acknowledgement Size */
	struct rtmp_stream streams[RTMP_MAX_STREAMS];
	struct xlink *xl;         /* the XMPP session, once xmpp_connect was called */
};

struct server {
	struct loop *loop;
	const struct rx_config *cfg;
	int lfd;
	int spare_fd;             /* released to accept and refuse on EMFILE */
	uint64_t next_id;
	struct list conns;
	struct list echo_pubs;
	struct list echo_waiting;
	struct mengine *eng;      /* the media engine (voice calls); NULL: voice off */
	struct echobot *echobot;  /* the echo account, in one process (echobot.c) */
	bool stopping;
	struct tmr shutdown_tmr;
	uint64_t shutdown_deadline;
	void (*done)(void *arg);
	void *done_arg;
	uint32_t received;        /* a worker: sockets taken from the master */
	void (*orphan_h)(void *arg);   /* a worker whose master is gone: shut down, then this */
	void *orphan_arg;
};

/* conn.c */
int conn_accept(struct server *srv, int fd, const char *peer, const char *ip);
/* Close the connection soon (outside the current handler), logging why. */
void conn_fail(struct rtmp_conn *c, const char *why);
void conn_destroy_now(struct rtmp_conn *c);
int conn_send(struct rtmp_conn *c, uint32_t csid, uint8_t type, uint32_t stream_id,
	      uint32_t ts, const uint8_t *body, uint32_t len);
/* Queue audio for a player; drops the oldest queued audio when full. */
void conn_send_audio(struct rtmp_conn *c, uint32_t stream_id, uint32_t ts,
		     const uint8_t *body, uint32_t len);
void conn_flush(struct rtmp_conn *c);
/* The connect command succeeded: start idle/ping supervision. */
void conn_connected(struct rtmp_conn *c);
/* connect is waiting for an XMPP login: allow it login_timeout more. */
void conn_defer_connect(struct rtmp_conn *c);
/* Flush, then close our side and wait for the client to close. */
void conn_drain(struct rtmp_conn *c);

/* control.c */
int control_handle(struct rtmp_conn *c, const struct rtmp_msg *m);
int control_send_u32(struct rtmp_conn *c, uint8_t type, uint32_t v);
int control_send_peer_bw(struct rtmp_conn *c, uint32_t window, uint8_t limit);
int control_send_uc(struct rtmp_conn *c, uint16_t event, uint32_t v);
void control_ack_check(struct rtmp_conn *c);

/* cmd.c */
int cmd_handle(struct rtmp_conn *c, const struct rtmp_msg *m);
int cmd_invoke(struct rtmp_conn *c, uint32_t stream_id, const char *name, double txid,
	       const AMFObjectProperty *vals, int nvals);
/* name(txid, null, {level, code, description}): onStatus, _error, ... */
int cmd_info(struct rtmp_conn *c, uint32_t stream_id, const char *name, double txid,
	     const char *level, const char *code, const char *desc);
int cmd_status(struct rtmp_conn *c, uint32_t stream_id, const char *level, const char *code,
	       const char *desc);
int cmd_data(struct rtmp_conn *c, uint32_t stream_id, const AMFObjectProperty *vals, int n);

/* The connect command with login: the answer waits for the XMPP login.
 * reason NULL: success; else the client is rejected with it. */
void cmd_connect_done(struct rtmp_conn *c, double txid, const char *reason);

/* xrpc.c: the text-stanza RPCs */
int xrpc_connect(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd);
int xrpc_disconnect(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd);
int xrpc_send(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd);
/* connect's first extra argument {username, domain, password, ...}: EINVAL if not one */
int xrpc_login_at_connect(struct rtmp_conn *c, const AMFObjectProperty *o, double txid);
/* The RTMP side is going away: close the XMPP session behind it. */
void xrpc_detach(struct rtmp_conn *c, const char *reason);
/* The gateway is stopping: tell the client xmpp_disconnected(server-shutdown). */
void xrpc_shutdown(struct rtmp_conn *c);

/* stream.c */
struct rtmp_stream *stream_get(struct rtmp_conn *c, uint32_t id);
int stream_create(struct rtmp_conn *c, uint32_t *id);
void stream_close(struct rtmp_stream *s, bool notify);
void stream_delete(struct rtmp_stream *s);
int stream_publish(struct rtmp_stream *s, const char *name);
int stream_play(struct rtmp_stream *s, const char *name);
void stream_audio(struct rtmp_stream *s, const struct rtmp_msg *m);
void stream_video(struct rtmp_stream *s, const struct rtmp_msg *m);
/* UC StreamBegin, Play.Reset/Start, |RtmpSampleAccess and onMetaData. */
void stream_send_play_start(struct rtmp_stream *s);

/* call.c: voice calls on NetStreams */
/* publish (or play) of a name that is not an echo stream */
int call_stream(struct rtmp_stream *s, const char *name, bool publish);
void call_stream_closed(struct rtmp_stream *s);
void call_audio(struct rtmp_stream *s, const struct rtmp_msg *m);
int call_rpc_reject(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd);
int call_rpc_hangup(struct rtmp_conn *c, const struct rtmp_msg *m, struct rtmp_cmd *cmd);

/* echo.c: the echo test through the media engine */
/* An echo publisher's audio message (Speex, checked): to its players. */
void echo_audio(struct rtmp_stream *s, const struct rtmp_msg *m);
/* The echo publisher stops: its pair goes. */
void echo_close(struct rtmp_stream *s);

/* echobot.c: the echo account (cfg->echo_account) */
int echobot_alloc(struct echobot **bp, struct server *srv);

/* server.c */
/* Listens itself, or as a worker (cfg->worker_channel) takes the sockets
 * its master accepted. */
int server_alloc(struct server **srvp, struct loop *loop, const struct rx_config *cfg,
		 void (*orphan_h)(void *arg), void *orphan_arg);
/* Open the listening socket (non-blocking). */
int server_listen(const struct rx_config *cfg, int *fdp);
/* The number of connections changed: a worker tells its master. */
void server_load_changed(struct server *srv);
/* Tell every client NetConnection.Connect.Closed and close; calls done once
 * all sockets are closed or after a grace period. */
void server_shutdown(struct server *srv, void (*done)(void *arg), void *arg);

#endif
