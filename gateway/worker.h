/* The master/worker processes.
 *
 * libstrophe polls its socket with select(), which corrupts memory for
 * descriptors >= 1024 (libstrophe issue #166), and one process holding
 * RTMP, XMPP and media sockets for many users passes that mark after a few
 * hundred.  So a small master accepts RTMP connections and hands each
 * socket (SCM_RIGHTS) to a worker process that serves at most
 * users_per_worker connections and whose descriptor limit is FD_SETSIZE:
 * no descriptor a worker holds can reach 1024.  Workers are the same
 * binary, started with --worker-channel; more start as the ones running
 * fill up, and one that dies is replaced.  A session lives entirely in one
 * worker. */
#ifndef RX_WORKER_H
#define RX_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

/* Run the master until SIGTERM/SIGINT; returns the exit status. */
int master_run(const struct rx_config *cfg, char **argv);

/* Channel messages. */
int worker_send_fd(int ch, int fd, const char *peer, const char *ip);
/* 0 with *fd (-1 if the descriptor did not arrive), EAGAIN, or an error
 * when the master is gone. */
int worker_recv_fd(int ch, int *fd, char *peer, size_t psize, char *ip, size_t isize);
/* received: sockets taken from the channel so far; users: served now */
void worker_report(int ch, uint32_t received, uint32_t users);
/* Limit this process's descriptors to FD_SETSIZE. */
int worker_limit_fds(void);

#endif
