/* NetStreams: publish/play state, the audio checks, and the echo test.
 *
 * Echo: a player of "echo" (or "echo/<anything>") hears a publisher of the
 * same name.  It prefers a publisher on its own connection, and otherwise
 * only matches one from the same client address, so that nobody hears
 * another user's microphone.  A player may start before its publisher; it
 * waits and is attached when the publisher appears.  The audio itself goes
 * through the media engine (echo.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "flv.h"
#include "log.h"
#include "rtmp.h"

struct rtmp_stream *stream_get(struct rtmp_conn *c, uint32_t id)
{
	for (int i = 0; i < RTMP_MAX_STREAMS; i++)
		if (id && c->streams[i].id == id)
			return &c->streams[i];
	return NULL;
}

int stream_create(struct rtmp_conn *c, uint32_t *id)
{
	for (int i = 0; i < RTMP_MAX_STREAMS; i++) {
		struct rtmp_stream *s = &c->streams[i];
		if (s->id)
			continue;
		memset(s, 0, sizeof(*s));
		s->conn = c;
		s->id = (uint32_t)i + 1;
		s->recv_audio = true;
		*id = s->id;
		return 0;
	}
	return ENOSPC;
}

static bool is_echo(const char *name)
{
	return !strcmp(name, "echo") || !strncmp(name, "echo/", 5);
}

static bool echo_match(const struct rtmp_stream *pub, const struct rtmp_stream *player)
{
	return !strcmp(pub->name, player->name) &&
	       (pub->conn == player->conn || !strcmp(pub->conn->ip, player->conn->ip));
}

void stream_send_play_start(struct rtmp_stream *s)
{
	struct rtmp_conn *c = s->conn;
	char desc[RTMP_NAME_MAX + 32];
	AMFObjectProperty access[] = {
		amfv_str(NULL, "|RtmpSampleAccess"), amfv_bool(NULL, true), amfv_bool(NULL, true),
	};
	AMFObjectProperty meta_props[] = {
		amfv_num("audiocodecid", FLV_SPEEX),
		amfv_num("audiosamplerate", 16000),
		amfv_num("audiosamplesize", 16),
		amfv_bool("stereo", false),
	};
	AMFObjectProperty meta[] = {amfv_str(NULL, "onMetaData"), amfv_obj(NULL, meta_props, 4)};

	meta[1].p_type = AMF_ECMA_ARRAY;
	snprintf(desc, sizeof(desc), "Started playing %s.", s->name);
	control_send_uc(c, UC_STREAM_BEGIN, s->id);
	cmd_status(c, s->id, "status", "NetStream.Play.Reset", desc);
	cmd_status(c, s->id, "status", "NetStream.Play.Start", desc);
	cmd_data(c, s->id, access, 3);
	cmd_data(c, s->id, meta, 2);
	conn_flush(c);
}

static void attach(struct rtmp_stream *pub, struct rtmp_stream *player)
{
	list_unlink(&player->sub_le);
	list_append(&pub->subs, &player->sub_le, player);
	player->src = pub;
}

int stream_publish(struct rtmp_stream *s, const char *name)
{
	struct rtmp_conn *c = s->conn;
	struct server *srv = c->srv;
	char desc[RTMP_NAME_MAX + 32];

	if (s->role != ROLE_NONE)
		return cmd_status(c, s->id, "error", "NetStream.Publish.BadName",
				  "This stream is already publishing or playing.");
	if (!is_echo(name))
		return call_stream(s, name, true);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->role = ROLE_PUBLISH;
	list_init(&s->subs);
	list_append(&srv->echo_pubs, &s->pub_le, s);
	/* Wake the players that were waiting for this publisher. */
	for (struct le *e = srv->echo_waiting.head, *next; e; e = next) {
		struct rtmp_stream *p = e->data;
		next = e->next;
		if (echo_match(s, p))
			attach(s, p);
	}
	snprintf(desc, sizeof(desc), "Publishing %s.", name);
	control_send_uc(c, UC_STREAM_BEGIN, s->id);
	LOGI("conn %llu %s: publishing '%s'", (unsigned long long)c->id, c->peer, name);
	return cmd_status(c, s->id, "status", "NetStream.Publish.Start", desc);
}

int stream_play(struct rtmp_stream *s, const char *name)
{
	struct rtmp_conn *c = s->conn;
	struct server *srv = c->srv;
	struct rtmp_stream *best = NULL;

	if (s->role != ROLE_NONE)
		return cmd_status(c, s->id, "error", "NetStream.Play.Failed",
				  "This stream is already publishing or playing.");
	if (!is_echo(name))
		return call_stream(s, name, false);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->role = ROLE_PLAY;
	LIST_FOREACH(&srv->echo_pubs, e) {
		struct rtmp_stream *p = e->data;
		if (!echo_match(p, s))
			continue;
		if (!best || p->conn == c || best->conn != c)
			best = p;   /* own connection first, else the newest */
	}
	if (best)
		attach(best, s);
	else
		list_append(&srv->echo_waiting, &s->sub_le, s);
	LOGI("conn %llu %s: playing '%s'%s", (unsigned long long)c->id, c->peer, name,
	     best ? "" : " (waiting for its publisher)");
	stream_send_play_start(s);
	return 0;
}

/* Stop publishing or playing.  notify: send the client the usual status. */
void stream_close(struct rtmp_stream *s, bool notify)
{
	struct rtmp_conn *c = s->conn;
	char desc[RTMP_NAME_MAX + 32];

	if (s->call) {
		call_stream_closed(s);
		if (notify) {
			snprintf(desc, sizeof(desc), "%s is now %s.", s->name,
				 s->role == ROLE_PUBLISH ? "unpublished" : "stopped");
			cmd_status(c, s->id, "status", s->role == ROLE_PUBLISH ?
				   "NetStream.Unpublish.Success" : "NetStream.Play.Stop", desc);
		}
	} else if (s->role == ROLE_PUBLISH && is_echo(s->name)) {
		echo_close(s);   /* first: what the engine still held goes to the players */
		/* Players of this publisher hear the end and go back to waiting. */
		for (struct le *e = s->subs.head, *next; e; e = next) {
			struct rtmp_stream *p = e->data;
			next = e->next;
			list_unlink(&p->sub_le);
			p->src = NULL;
			list_append(&c->srv->echo_waiting, &p->sub_le, p);
			snprintf(desc, sizeof(desc), "%s is now unpublished.", s->name);
			cmd_status(p->conn, p->id, "status", "NetStream.Play.UnpublishNotify", desc);
			cmd_status(p->conn, p->id, "status", "NetStream.Play.Stop", desc);
			control_send_uc(p->conn, UC_STREAM_EOF, p->id);
			conn_flush(p->conn);
		}
		list_unlink(&s->pub_le);
		if (notify) {
			snprintf(desc, sizeof(desc), "%s is now unpublished.", s->name);
			cmd_status(c, s->id, "status", "NetStream.Unpublish.Success", desc);
		}
	} else if (s->role == ROLE_PLAY && is_echo(s->name)) {
		list_unlink(&s->sub_le);
		s->src = NULL;
		if (notify) {
			snprintf(desc, sizeof(desc), "Stopped playing %s.", s->name);
			cmd_status(c, s->id, "status", "NetStream.Play.Stop", desc);
		}
	}
	s->role = ROLE_NONE;
	s->name[0] = '\0';
}

void stream_delete(struct rtmp_stream *s)
{
	stream_close(s, false);
	s->id = 0;
}

void stream_audio(struct rtmp_stream *s, const struct rtmp_msg *m)
{
	struct flv_audio a;

	if (flv_audio_parse(&a, m->body, m->len))
		return;   /* empty audio message: nothing to relay */
	if (a.codec != FLV_SPEEX) {
		if (!s->bad_codec_sent) {
			char desc[128];
			s->bad_codec_sent = true;
			snprintf(desc, sizeof(desc),
				 "Audio codec %s is not supported; set Microphone.codec to SPEEX.",
				 flv_codec_name(a.codec));
			LOGI("conn %llu %s: dropping %s audio", (unsigned long long)s->conn->id,
			     s->conn->peer, flv_codec_name(a.codec));
			cmd_status(s->conn, s->id, "error", "NetStream.Publish.BadCodec", desc);
		}
		return;
	}
	if (s->call)
		call_audio(s, m);
	else if (s->role == ROLE_PUBLISH)
		echo_audio(s, m);
}

void stream_video(struct rtmp_stream *s, const struct rtmp_msg *m)
{
	(void)m;
	if (!s->video_noted) {
		s->video_noted = true;
		LOGD("conn %llu: dropping video (audio-only gateway)",
		     (unsigned long long)s->conn->id);
	}
}
