/* Candidates between libnice's NiceCandidate and our struct ice_cand (the
 * fields of an XEP-0176 <candidate/>). */
#include <errno.h>
#include <string.h>
#include "ice_int.h"

static const char *const type_names[] = {
	[ICE_CAND_HOST] = "host",
	[ICE_CAND_SRFLX] = "srflx",
	[ICE_CAND_PRFLX] = "prflx",
	[ICE_CAND_RELAY] = "relay",
};

const char *ice_cand_type_name(enum ice_cand_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "?";
	return type_names[t];
}

int ice_cand_type_parse(const char *s, enum ice_cand_type *t)
{
	if (!s || !t)
		return -EINVAL;
	for (unsigned i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (!strcmp(s, type_names[i])) {
			*t = (enum ice_cand_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

static enum ice_cand_type type_from_nice(NiceCandidateType t)
{
	switch (t) {
	case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return ICE_CAND_SRFLX;
	case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: return ICE_CAND_PRFLX;
	case NICE_CANDIDATE_TYPE_RELAYED: return ICE_CAND_RELAY;
	default: return ICE_CAND_HOST;
	}
}

static NiceCandidateType type_to_nice(enum ice_cand_type t)
{
	switch (t) {
	case ICE_CAND_SRFLX: return NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
	case ICE_CAND_PRFLX: return NICE_CANDIDATE_TYPE_PEER_REFLEXIVE;
	case ICE_CAND_RELAY: return NICE_CANDIDATE_TYPE_RELAYED;
	default: return NICE_CANDIDATE_TYPE_HOST;
	}
}

static enum ice_transport tp_from_nice(NiceCandidateTransport t)
{
	switch (t) {
	case NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE: return ICE_TP_TCP_ACTIVE;
	case NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE: return ICE_TP_TCP_PASSIVE;
	case NICE_CANDIDATE_TRANSPORT_TCP_SO: return ICE_TP_TCP_SO;
	default: return ICE_TP_UDP;
	}
}

static NiceCandidateTransport tp_to_nice(enum ice_transport t)
{
	switch (t) {
	case ICE_TP_TCP_ACTIVE: return NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE;
	case ICE_TP_TCP_PASSIVE: return NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE;
	case ICE_TP_TCP_SO: return NICE_CANDIDATE_TRANSPORT_TCP_SO;
	default: return NICE_CANDIDATE_TRANSPORT_UDP;
	}
}

void ice_cand_from_nice(struct ice_cand *out, const NiceCandidate *nc)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->foundation, nc->foundation, sizeof(out->foundation) - 1);
	out->comp = nc->component_id;
	out->transport = tp_from_nice(nc->transport);
	out->priority = nc->priority;
	nice_address_to_string(&nc->addr, out->ip);
	out->port = (uint16_t)nice_address_get_port(&nc->addr);
	out->type = type_from_nice(nc->type);
	/* As libnice writes raddr/rport in SDP: the base, when it differs. */
	if (nc->type != NICE_CANDIDATE_TYPE_HOST && nice_address_is_valid(&nc->base_addr) &&
	    !nice_address_equal(&nc->addr, &nc->base_addr)) {
		nice_address_to_string(&nc->base_addr, out->rel_ip);
		out->rel_port = (uint16_t)nice_address_get_port(&nc->base_addr);
	}
}

/* Fills a NiceCandidate on the caller's stack: nice_agent_set_remote_candidates()
 * copies what it keeps, so nothing is allocated. */
int ice_cand_to_nice(NiceCandidate *nc, const struct ice_cand *c, guint sid)
{
	memset(nc, 0, sizeof(*nc));
	if (!memchr(c->foundation, 0, sizeof(c->foundation)) || !c->foundation[0] ||
	    !memchr(c->ip, 0, sizeof(c->ip)) || !memchr(c->rel_ip, 0, sizeof(c->rel_ip)) ||
	    !c->port)
		return -EINVAL;
	nc->type = type_to_nice(c->type);
	nc->transport = tp_to_nice(c->transport);
	nice_address_init(&nc->addr);
	if (!nice_address_set_from_string(&nc->addr, c->ip))
		return -EINVAL;   /* a name, e.g. an mDNS .local candidate */
	nice_address_set_port(&nc->addr, c->port);
	nice_address_init(&nc->base_addr);
	if (c->rel_ip[0] && nice_address_set_from_string(&nc->base_addr, c->rel_ip))
		nice_address_set_port(&nc->base_addr, c->rel_port);
	nc->priority = c->priority;
	nc->stream_id = sid;
	nc->component_id = c->comp;
	memcpy(nc->foundation, c->foundation, strlen(c->foundation) + 1);
	return 0;
}
