/* Internal API of the floor relay (floor.c: sockets and the relay,
 * floorcmd.c: the canned RTMP commands and the stream names). */
#ifndef RXB_FLOOR_H
#define RXB_FLOOR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "chunk.h"
#include "handshake.h"
#include "loop.h"

enum { FLOOR_CS_CONTROL = 2, FLOOR_CS_CMD = 3, FLOOR_CS_STREAM = 5, FLOOR_CS_AUDIO = 6 };
enum floor_role { FLOOR_NONE = 0, FLOOR_PUB, FLOOR_PLAY };

struct fconn;

struct fstream {
	char name[64];
	struct fconn *pub;
	struct fconn **players;   /* mem array */
	uint32_t nplayers;
	uint32_t cap;
};

struct floor {
	struct loop *loop;
	int lfd;
	int ufd;
	struct sockaddr_in uaddr;     /* the UDP socket's own address */
	struct fstream *streams;      /* mem array; an index never changes */
	uint32_t nstreams;
	uint64_t udp_drops;
	bool direct;                  /* --direct: no UDP hop */
};

struct fconn {
	struct floor *fl;
	int fd;
	bool dead;                /* a send failed: closed once its read fails */
	bool want_write;
	enum floor_role role;
	uint32_t stream;          /* index + 1 into fl->streams; 0: none */
	struct handshake hs;
	struct dechunker dc;
	struct chunker ch;
	struct buf in;
	struct buf out;
};

/* floor.c */
void floor_on_io(int fd, int flags, void *arg);
void floor_flush(struct fconn *c);
int floor_send(struct fconn *c, uint32_t csid, uint8_t type, uint32_t sid, uint32_t ts,
	       const uint8_t *body, uint32_t len);

/* floorcmd.c */
int floor_command(struct fconn *c, const struct rtmp_msg *m);
void floor_leave(struct fconn *c);
void floor_streams_free(struct floor *fl);

#endif
