/* RTMP protocol control and user control messages. */
#include <errno.h>
#include "log.h"
#include "rtmp.h"

int control_send_u32(struct rtmp_conn *c, uint8_t type, uint32_t v)
{
	uint8_t b[4];
	put_be32(b, v);
	return conn_send(c, CSID_CONTROL, type, 0, 0, b, 4);
}

int control_send_peer_bw(struct rtmp_conn *c, uint32_t window, uint8_t limit)
{
	uint8_t b[5];
	put_be32(b, window);
	b[4] = limit;
	return conn_send(c, CSID_CONTROL, RTMP_SET_PEER_BW, 0, 0, b, 5);
}

int control_send_uc(struct rtmp_conn *c, uint16_t event, uint32_t v)
{
	uint8_t b[6];
	put_be16(b, event);
	put_be32(b + 2, v);
	return conn_send(c, CSID_CONTROL, RTMP_USER_CONTROL, 0, 0, b, 6);
}

/* Send an Acknowledgement each time another window of bytes arrived. */
void control_ack_check(struct rtmp_conn *c)
{
	if (c->ack_window && c->rx_bytes - c->rx_acked >= c->ack_window) {
		c->rx_acked = c->rx_bytes;
		control_send_u32(c, RTMP_ACK, (uint32_t)c->rx_bytes);
	}
}

static int user_control(struct rtmp_conn *c, const struct rtmp_msg *m)
{
	uint16_t ev;

	if (m->len < 2)
		return 0;
	ev = (uint16_t)be16(m->body);
	switch (ev) {
	case UC_PING_REQUEST:
		if (m->len >= 6)
			control_send_uc(c, UC_PING_RESPONSE, be32(m->body + 2));
		break;
	case UC_PING_RESPONSE:
		c->ping_sent = false;
		break;
	case UC_SET_BUFFER_LEN:
	default:
		break;
	}
	return 0;
}

int control_handle(struct rtmp_conn *c, const struct rtmp_msg *m)
{
	uint32_t v;

	if (m->type == RTMP_USER_CONTROL)
		return user_control(c, m);
	if (m->len < 4) {
		conn_fail(c, "short protocol control message");
		return EBADMSG;
	}
	v = be32(m->body);
	switch (m->type) {
	case RTMP_SET_CHUNK_SIZE:
		if (dechunk_set_chunk_size(&c->dc, v)) {
			LOGW("conn %llu %s: refused Set Chunk Size %u", (unsigned long long)c->id,
			     c->peer, v);
			conn_fail(c, c->dc.why);
			return EPROTO;
		}
		break;
	case RTMP_ABORT:
		dechunk_abort(&c->dc, v);
		break;
	case RTMP_WINDOW_ACK_SIZE:
		c->ack_window = v;
		break;
	case RTMP_ACK:
	case RTMP_SET_PEER_BW:
	default:
		break;
	}
	return 0;
}
