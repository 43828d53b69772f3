/* Gateway configuration: built-in defaults, then the GKeyFile config file,
 * then command-line flags (GOption), each overriding the one before. */
#ifndef RX_CONFIG_H
#define RX_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct rx_config {
	char listen_host[256];
	uint16_t listen_port;
	char app[128];
	int log_level;
	uint32_t max_connections;
	uint32_t max_message_size;    /* bytes, incoming RTMP message */
	uint32_t max_chunk_size;      /* bytes, largest Set Chunk Size accepted */
	uint32_t out_chunk_size;      /* bytes, chunk size we send with */
	uint32_t handshake_timeout;   /* seconds to finish handshake + connect */
	uint32_t idle_timeout;        /* seconds of silence before disconnect */
	uint32_t ping_interval;       /* seconds of silence before we ping */
	uint32_t audio_queue;         /* audio messages queued per connection */
	uint32_t out_limit;           /* bytes of unsent non-audio data before disconnect */
	char xmpp_cafile[1024];       /* CA file for the XMPP server's certificate; "" = system */
	bool xmpp_insecure;           /* do not verify the XMPP server's certificate */
	uint32_t iq_timeout;          /* seconds before a responder gets remote-server-timeout */
	uint32_t iq_unanswered;       /* seconds before we answer an ignored iq service-unavailable */
	uint32_t xmpp_ping_interval;  /* seconds between keepalive pings to the XMPP server */
	uint32_t xmpp_ping_timeout;   /* seconds to wait for the ping's answer */
	uint32_t max_stanza;          /* bytes of innerxml accepted from a client */
	uint32_t workers;             /* worker processes to start with; 0: one process */
	uint32_t users_per_worker;    /* connections per worker (keeps descriptors < 1024) */
	uint32_t answer_timeout;      /* seconds a call may ring before it ends (timeout) */
	uint32_t max_calls;           /* voice calls per connection, all directions */
	uint32_t rtp_port_min;        /* ICE host ports; 0, 0: any */
	uint32_t rtp_port_max;
	uint32_t max_media_calls;     /* calls per worker's media engine */
	bool voice;                   /* voice calls on (a media engine per worker) */
	bool allow_plain_rtp;         /* offer and accept unencrypted RTP */
	char stun_server[256];        /* "host[:port]" for server-reflexive candidates; "" none */
	char media_addrs[256];        /* local addresses for ICE, comma-separated; "" every one */
	int srtp_backend;             /* enum msrtp_backend (srtp.h); 0 is OpenSSL */
	char echo_account[320];       /* the echo account's JID (echobot.c); "" none */
	char echo_password[256];      /* its password, read from a file; never logged */
	char echo_server[256];        /* "host[:port]" of its XMPP server; "" from the domain */
	int worker_channel;           /* internal: this process is a worker; its master socket */
	int worker_index;             /* internal: for log lines */
};

void config_defaults(struct rx_config *cfg);
/* Parse argv (consuming what it knows); loads --config FILE if given.
 * Returns 0, or -1 after printing an error, or 1 when --help/--version was
 * printed and the program should exit successfully. */
int config_load(struct rx_config *cfg, int *argc, char ***argv);
/* "host:port" or "[v6]:port" or "port" */
int config_parse_listen(struct rx_config *cfg, const char *s);

#endif
