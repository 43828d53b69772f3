/* Configuration from GKeyFile and GOption. */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "log.h"
#include "srtp.h"

void config_defaults(struct rx_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
	cfg->listen_port = 1935;
	snprintf(cfg->app, sizeof(cfg->app), "xmpp");
	cfg->log_level = LOG_INFO;
	cfg->max_connections = 1000;
	cfg->max_message_size = 2 << 20;
	cfg->max_chunk_size = 1 << 16;
	cfg->out_chunk_size = 4096;
	cfg->handshake_timeout = 10;
	cfg->idle_timeout = 60;
	cfg->ping_interval = 20;
	cfg->audio_queue = 64;
	cfg->out_limit = 4 << 20;
	cfg->iq_timeout = 30;
	cfg->iq_unanswered = 10;
	cfg->xmpp_ping_interval = 60;
	cfg->xmpp_ping_timeout = 10;
	cfg->max_stanza = 64 << 10;
	cfg->workers = (uint32_t)g_get_num_processors();
	cfg->users_per_worker = 200;
	cfg->answer_timeout = 60;
	cfg->max_calls = 8;
	cfg->max_media_calls = 1024;
	cfg->voice = true;
	cfg->worker_channel = -1;
}

int config_parse_listen(struct rx_config *cfg, const char *s)
{
	const char *colon;
	char *end;
	long port;
	size_t hl;

	if (!s || !*s)
		return EINVAL;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return EINVAL;
		hl = (size_t)(rb - s - 1);
		s++;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		hl = colon ? (size_t)(colon - s) : 0;
	}
	port = strtol(colon ? colon + 1 : s, &end, 10);
	if (*end || port < 0 || port > 65535 || end == (colon ? colon + 1 : s))
		return EINVAL;
	if (colon) {
		if (hl == 0 || hl >= sizeof(cfg->listen_host))
			return EINVAL;
		memcpy(cfg->listen_host, s, hl);
		cfg->listen_host[hl] = '\0';
	}
	cfg->listen_port = (uint16_t)port;
	return 0;
}

struct uint_opt {
	const char *group;
	const char *key;
	uint32_t *val;
	uint32_t min, max;
};

static int set_uint(const struct uint_opt *o, gint64 v, const char *src)
{
	if (v < o->min || v > o->max) {
		fprintf(stderr, "rtmp2xmpp: %s: %s must be between %u and %u\n", src, o->key,
			o->min, o->max);
		return -1;
	}
	*o->val = (uint32_t)v;
	return 0;
}

static int set_level(struct rx_config *cfg, const char *s, const char *src)
{
	int lvl = log_level_parse(s);
	if (lvl < 0) {
		fprintf(stderr, "rtmp2xmpp: %s: log level must be error, warn, info or debug\n", src);
		return -1;
	}
	cfg->log_level = lvl;
	return 0;
}

static int set_srtp_backend(struct rx_config *cfg, const char *s, const char *src)
{
	enum msrtp_backend b;

	if (msrtp_backend_parse(s, &b)) {
		fprintf(stderr, "rtmp2xmpp: %s: srtp_backend must be openssl or libsrtp\n", src);
		return -1;
	}
	cfg->srtp_backend = (int)b;
	return 0;
}

static int copy_str(char *dst, size_t size, const char *s, const char *what)
{
	if (!s || !*s || strlen(s) >= size) {
		fprintf(stderr, "rtmp2xmpp: invalid %s\n", what);
		return -1;
	}
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int load_bool(GKeyFile *kf, const char *group, const char *key, bool *out,
		     const char *path)
{
	GError *ge = NULL;
	gboolean v;

	if (!g_key_file_has_key(kf, group, key, NULL))
		return 0;
	v = g_key_file_get_boolean(kf, group, key, &ge);
	if (ge) {
		fprintf(stderr, "rtmp2xmpp: %s: [%s] %s: %s\n", path, group, key, ge->message);
		g_error_free(ge);
		return -1;
	}
	*out = v;
	return 0;
}

/* A string setting, if present: 0, or -1 after printing why. */
static int load_str(GKeyFile *kf, const char *group, const char *key, char *dst, size_t size,
		    const char *path)
{
	char *s = g_key_file_get_string(kf, group, key, NULL), what[128];
	int e;

	if (!s)
		return 0;
	snprintf(what, sizeof(what), "%s: [%s] %s", path, group, key);
	e = copy_str(dst, size, s, what);
	g_free(s);
	return e;
}

/* A password from the first line of a file, so that it is neither on the
 * command line (ps) nor in the config file.  Its content is never printed. */
static int read_secret(const char *file, char *dst, size_t size)
{
	gchar *text = NULL;
	size_t n;

	if (!g_file_get_contents(file, &text, NULL, NULL)) {
		fprintf(stderr, "rtmp2xmpp: cannot read the password file %s\n", file);
		return -1;
	}
	n = strcspn(text, "\r\n");
	if (!n || n >= size) {
		fprintf(stderr, "rtmp2xmpp: the password file %s is empty or too long\n", file);
		g_free(text);
		return -1;
	}
	memcpy(dst, text, n);
	dst[n] = '\0';
	memset(text, 0, strlen(text));
	g_free(text);
	return 0;
}

static int load_file(struct rx_config *cfg, const char *path, const struct uint_opt *opts,
		     size_t nopts)
{
	GKeyFile *kf = g_key_file_new();
	GError *ge = NULL;
	char *s;
	int err = -1;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &ge)) {
		fprintf(stderr, "rtmp2xmpp: %s: %s\n", path, ge->message);
		goto out;
	}
	if ((s = g_key_file_get_string(kf, "server", "listen", NULL))) {
		int e = config_parse_listen(cfg, s);
		if (e)
			fprintf(stderr, "rtmp2xmpp: %s: bad listen address '%s'\n", path, s);
		g_free(s);
		if (e)
			goto out;
	}
	if ((s = g_key_file_get_string(kf, "server", "app", NULL))) {
		int e = copy_str(cfg->app, sizeof(cfg->app), s, "app");
		g_free(s);
		if (e)
			goto out;
	}
	if ((s = g_key_file_get_string(kf, "log", "level", NULL))) {
		int e = set_level(cfg, s, path);
		g_free(s);
		if (e)
			goto out;
	}
	if ((s = g_key_file_get_string(kf, "xmpp", "cafile", NULL))) {
		int e = copy_str(cfg->xmpp_cafile, sizeof(cfg->xmpp_cafile), s, "[xmpp] cafile");
		g_free(s);
		if (e)
			goto out;
	}
	if (g_key_file_has_key(kf, "xmpp", "insecure", NULL)) {
		cfg->xmpp_insecure = g_key_file_get_boolean(kf, "xmpp", "insecure", &ge);
		if (ge) {
			fprintf(stderr, "rtmp2xmpp: %s: [xmpp] insecure: %s\n", path, ge->message);
			goto out;
		}
	}
	if (load_bool(kf, "calls", "voice", &cfg->voice, path) ||
	    load_bool(kf, "media", "allow_plain_rtp", &cfg->allow_plain_rtp, path))
		goto out;
	if ((s = g_key_file_get_string(kf, "media", "stun_server", NULL))) {
		int e = copy_str(cfg->stun_server, sizeof(cfg->stun_server), s, "[media] stun_server");
		g_free(s);
		if (e)
			goto out;
	}
	if ((s = g_key_file_get_string(kf, "media", "srtp_backend", NULL))) {
		int e = set_srtp_backend(cfg, s, path);
		g_free(s);
		if (e)
			goto out;
	}
	if ((s = g_key_file_get_string(kf, "media", "addresses", NULL))) {
		int e = copy_str(cfg->media_addrs, sizeof(cfg->media_addrs), s, "[media] addresses");
		g_free(s);
		if (e)
			goto out;
	}
	if (load_str(kf, "echo", "account", cfg->echo_account, sizeof(cfg->echo_account), path) ||
	    load_str(kf, "echo", "server", cfg->echo_server, sizeof(cfg->echo_server), path))
		goto out;
	if ((s = g_key_file_get_string(kf, "echo", "password_file", NULL))) {
		int e = read_secret(s, cfg->echo_password, sizeof(cfg->echo_password));
		g_free(s);
		if (e)
			goto out;
	}
	for (size_t i = 0; i < nopts; i++) {
		gint64 v;
		if (!g_key_file_has_key(kf, opts[i].group, opts[i].key, NULL))
			continue;
		v = g_key_file_get_int64(kf, opts[i].group, opts[i].key, &ge);
		if (ge) {
			fprintf(stderr, "rtmp2xmpp: %s: [%s] %s: %s\n", path, opts[i].group,
				opts[i].key, ge->message);
			goto out;
		}
		if (set_uint(&opts[i], v, path))
			goto out;
	}
	err = 0;
out:
	if (ge)
		g_error_free(ge);
	g_key_file_free(kf);
	return err;
}

int config_load(struct rx_config *cfg, int *argc, char ***argv)
{
	gchar *listen = NULL, *file = NULL, *app = NULL, *level = NULL, *cafile = NULL;
	gint64 cli[21];
	gint worker_channel = -1, worker_index = 0;
	gchar *srtp = NULL;
	gboolean version = FALSE, insecure = FALSE, no_voice = FALSE, plain = FALSE;
	gchar *stun = NULL, *maddrs = NULL, *echo = NULL, *echo_pw = NULL, *echo_srv = NULL;
	const struct uint_opt opts[] = {
		{"limits", "max_connections", &cfg->max_connections, 1, 1000000},
		{"limits", "max_message_size", &cfg->max_message_size, 1024, 64 << 20},
		{"limits", "max_chunk_size", &cfg->max_chunk_size, 128, 0x7fffffff},
		{"limits", "handshake_timeout", &cfg->handshake_timeout, 1, 3600},
		{"limits", "idle_timeout", &cfg->idle_timeout, 1, 86400},
		{"limits", "ping_interval", &cfg->ping_interval, 1, 86400},
		{"limits", "audio_queue", &cfg->audio_queue, 2, 4096},
		{"limits", "out_limit", &cfg->out_limit, 65536, 1 << 30},
		{"server", "chunk_size", &cfg->out_chunk_size, 128, 1 << 16},
		{"xmpp", "iq_timeout", &cfg->iq_timeout, 1, 3600},
		{"xmpp", "iq_unanswered", &cfg->iq_unanswered, 1, 3600},
		{"xmpp", "ping_interval", &cfg->xmpp_ping_interval, 1, 86400},
		{"xmpp", "ping_timeout", &cfg->xmpp_ping_timeout, 1, 3600},
		{"xmpp", "max_stanza", &cfg->max_stanza, 1024, 16 << 20},
		{"server", "workers", &cfg->workers, 0, 256},
		{"server", "users_per_worker", &cfg->users_per_worker, 1, 900},
		{"calls", "answer_timeout", &cfg->answer_timeout, 1, 3600},
		{"calls", "max_calls", &cfg->max_calls, 1, 64},
		{"media", "port_min", &cfg->rtp_port_min, 0, 65535},
		{"media", "port_max", &cfg->rtp_port_max, 0, 65535},
		{"media", "max_calls", &cfg->max_media_calls, 1, 65536},
	};
	GOptionEntry entries[] = {
		{"listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
		 "Address to accept RTMP on (default 127.0.0.1:1935)", "HOST:PORT"},
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &file,
		 "Read settings from this key file (see docs/configuration.md)", "FILE"},
		{"app", 0, 0, G_OPTION_ARG_STRING, &app,
		 "RTMP application name clients connect to (default xmpp)", "NAME"},
		{"log-level", 0, 0, G_OPTION_ARG_STRING, &level,
		 "error, warn, info (default) or debug", "LEVEL"},
		{"max-connections", 0, 0, G_OPTION_ARG_INT64, &cli[0],
		 "Most RTMP connections at once (default 1000)", "N"},
		{"max-message-size", 0, 0, G_OPTION_ARG_INT64, &cli[1],
		 "Largest RTMP message a client may send, bytes (default 2097152)", "BYTES"},
		{"max-chunk-size", 0, 0, G_OPTION_ARG_INT64, &cli[2],
		 "Largest chunk size a client may set, bytes (default 65536)", "BYTES"},
		{"handshake-timeout", 0, 0, G_OPTION_ARG_INT64, &cli[3],
		 "Seconds a client has to finish the handshake and connect (default 10)", "S"},
		{"idle-timeout", 0, 0, G_OPTION_ARG_INT64, &cli[4],
		 "Seconds without any bytes from a client before it is dropped (default 60)", "S"},
		{"ping-interval", 0, 0, G_OPTION_ARG_INT64, &cli[5],
		 "Seconds of client silence before we send a ping (default 20)", "S"},
		{"audio-queue", 0, 0, G_OPTION_ARG_INT64, &cli[6],
		 "Outgoing audio messages queued per client; the oldest is dropped first (default 64)", "N"},
		{"out-limit", 0, 0, G_OPTION_ARG_INT64, &cli[7],
		 "Unsent command/stanza bytes before a client that stopped reading is dropped (default 4194304)", "BYTES"},
		{"chunk-size", 0, 0, G_OPTION_ARG_INT64, &cli[8],
		 "Chunk size we send with (default 4096)", "BYTES"},
		{"iq-timeout", 0, 0, G_OPTION_ARG_INT64, &cli[9],
		 "Seconds before an iq responder gets remote-server-timeout (default 30)", "S"},
		{"iq-unanswered", 0, 0, G_OPTION_ARG_INT64, &cli[10],
		 "Seconds before an iq the client ignores is answered service-unavailable (default 10)", "S"},
		{"xmpp-ping-interval", 0, 0, G_OPTION_ARG_INT64, &cli[11],
		 "Seconds between keepalive pings to the XMPP server (default 60)", "S"},
		{"xmpp-ping-timeout", 0, 0, G_OPTION_ARG_INT64, &cli[12],
		 "Seconds to wait for a keepalive ping's answer (default 10)", "S"},
		{"max-stanza", 0, 0, G_OPTION_ARG_INT64, &cli[13],
		 "Largest innerxml a client may send, bytes (default 65536)", "BYTES"},
		{"xmpp-cafile", 0, 0, G_OPTION_ARG_FILENAME, &cafile,
		 "Trust the XMPP server certificates this PEM file vouches for (default: the system's CAs)", "FILE"},
		{"xmpp-insecure", 0, 0, G_OPTION_ARG_NONE, &insecure,
		 "Do NOT verify the XMPP server's certificate (testing only; logged loudly)", NULL},
		{"workers", 0, 0, G_OPTION_ARG_INT64, &cli[14],
		 "Worker processes to start (default: one per CPU; more start as they fill up; "
		 "0: run everything in one process)", "N"},
		{"users-per-worker", 0, 0, G_OPTION_ARG_INT64, &cli[15],
		 "Connections one worker serves (default 200, so its descriptors stay below 1024)", "N"},
		{"answer-timeout", 0, 0, G_OPTION_ARG_INT64, &cli[16],
		 "Seconds a call may ring unanswered (default 60)", "S"},
		{"max-calls", 0, 0, G_OPTION_ARG_INT64, &cli[17],
		 "Voice calls per RTMP connection (default 8)", "N"},
		{"rtp-port-min", 0, 0, G_OPTION_ARG_INT64, &cli[18],
		 "Lowest UDP port for ICE host candidates (default: any)", "PORT"},
		{"rtp-port-max", 0, 0, G_OPTION_ARG_INT64, &cli[19],
		 "Highest UDP port for ICE host candidates (default: any)", "PORT"},
		{"max-media-calls", 0, 0, G_OPTION_ARG_INT64, &cli[20],
		 "Calls one worker's media engine carries (default 1024)", "N"},
		{"no-voice", 0, 0, G_OPTION_ARG_NONE, &no_voice,
		 "Turn voice calls off (Jingle requests are refused)", NULL},
		{"allow-plain-rtp", 0, 0, G_OPTION_ARG_NONE, &plain,
		 "Offer and accept unencrypted RTP (Gajim 1.x needs it; off by default)", NULL},
		{"stun-server", 0, 0, G_OPTION_ARG_STRING, &stun,
		 "STUN server for server-reflexive ICE candidates (default: none)", "HOST[:PORT]"},
		{"media-addresses", 0, 0, G_OPTION_ARG_STRING, &maddrs,
		 "Local addresses ICE may use, comma-separated (default: every interface)", "IPS"},
		{"srtp-backend", 0, 0, G_OPTION_ARG_STRING, &srtp,
		 "SRTP implementation: openssl (default) or libsrtp", "NAME"},
		{"echo-account", 0, 0, G_OPTION_ARG_STRING, &echo,
		 "Log in to this XMPP account and answer its calls with their own audio: "
		 "the echo test for any Jingle client (default: none)", "JID"},
		{"echo-password-file", 0, 0, G_OPTION_ARG_FILENAME, &echo_pw,
		 "The echo account's password, on the first line of FILE", "FILE"},
		{"echo-server", 0, 0, G_OPTION_ARG_STRING, &echo_srv,
		 "The echo account's XMPP server (default: the JID's domain)", "HOST[:PORT]"},
		{"worker-channel", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &worker_channel,
		 "internal", "FD"},
		{"worker-index", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &worker_index,
		 "internal", "N"},
		{"version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
		{NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	GOptionContext *ctx;
	GError *ge = NULL;
	int err = -1;

	for (size_t i = 0; i < G_N_ELEMENTS(cli); i++)
		cli[i] = -1;
	ctx = g_option_context_new("- RTMP to XMPP gateway");
	g_option_context_set_summary(ctx,
		"Lets RTMP softphones (Flash/AIR, FFmpeg, librtmp) use XMPP.\n"
		"Settings come from built-in defaults, then --config FILE, then these flags.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &ge)) {
		fprintf(stderr, "rtmp2xmpp: %s (try --help)\n", ge->message);
		g_error_free(ge);
		goto out;
	}
	if (version) {
		printf("rtmp2xmpp %s\n", RX_VERSION);
		err = 1;
		goto out;
	}
	if (file && load_file(cfg, file, opts, G_N_ELEMENTS(opts)))
		goto out;
	if (listen && config_parse_listen(cfg, listen)) {
		fprintf(stderr, "rtmp2xmpp: bad --listen '%s' (want HOST:PORT)\n", listen);
		goto out;
	}
	if (app && copy_str(cfg->app, sizeof(cfg->app), app, "--app"))
		goto out;
	if (level && set_level(cfg, level, "--log-level"))
		goto out;
	if (cafile && copy_str(cfg->xmpp_cafile, sizeof(cfg->xmpp_cafile), cafile, "--xmpp-cafile"))
		goto out;
	if (insecure)
		cfg->xmpp_insecure = true;
	if (no_voice)
		cfg->voice = false;
	if (plain)
		cfg->allow_plain_rtp = true;
	if (stun && copy_str(cfg->stun_server, sizeof(cfg->stun_server), stun, "--stun-server"))
		goto out;
	if (maddrs && copy_str(cfg->media_addrs, sizeof(cfg->media_addrs), maddrs,
			       "--media-addresses"))
		goto out;
	if (srtp && set_srtp_backend(cfg, srtp, "--srtp-backend"))
		goto out;
	if ((echo && copy_str(cfg->echo_account, sizeof(cfg->echo_account), echo,
			      "--echo-account")) ||
	    (echo_srv && copy_str(cfg->echo_server, sizeof(cfg->echo_server), echo_srv,
				  "--echo-server")) ||
	    (echo_pw && read_secret(echo_pw, cfg->echo_password, sizeof(cfg->echo_password))))
		goto out;
	if (cfg->echo_account[0] && !cfg->echo_password[0]) {
		fprintf(stderr, "rtmp2xmpp: the echo account needs --echo-password-file "
			"(or [echo] password_file)\n");
		goto out;
	}
	cfg->worker_channel = worker_channel;
	cfg->worker_index = worker_index;
	for (size_t i = 0; i < G_N_ELEMENTS(cli); i++)
		if (cli[i] >= 0 && set_uint(&opts[i], cli[i], "command line"))
			goto out;
	if (cfg->ping_interval >= cfg->idle_timeout)
		cfg->ping_interval = cfg->idle_timeout / 2 ? cfg->idle_timeout / 2 : 1;
	err = 0;
out:
	g_free(listen);
	g_free(file);
	g_free(app);
	g_free(level);
	g_free(cafile);
	g_free(stun);
	g_free(maddrs);
	g_free(srtp);
	g_free(echo);
	g_free(echo_pw);
	g_free(echo_srv);
	g_option_context_free(ctx);
	return err;
}
