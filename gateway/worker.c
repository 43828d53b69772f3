/* The master process and the channel to its workers (see worker.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netdb.h>
#include <unistd.h>
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "rtmp.h"
#include "worker.h"

#define MAX_WORKERS 256
#define STOP_GRACE_MS 5000

int worker_send_fd(int ch, int fd, const char *peer, const char *ip)
{
	char data[128];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov;
	struct msghdr mh = {0};
	int n = snprintf(data, sizeof(data), "%s", peer);

	n += 1 + snprintf(data + n + 1, sizeof(data) - (size_t)n - 1, "%s", ip);
	iov.iov_base = data;
	iov.iov_len = (size_t)n + 1;
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	u.h.cmsg_level = SOL_SOCKET;
	u.h.cmsg_type = SCM_RIGHTS;
	u.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&u.h), &fd, sizeof(int));
	return sendmsg(ch, &mh, MSG_NOSIGNAL) < 0 ? errno : 0;
}

int worker_recv_fd(int ch, int *fd, char *peer, size_t psize, char *ip, size_t isize)
{
	char data[128];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {data, sizeof(data) - 1};
	struct msghdr mh = {0};
	struct cmsghdr *cm;
	ssize_t n;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	n = recvmsg(ch, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? EAGAIN : errno;
	if (n == 0)
		return EPIPE;
	data[n] = '\0';
	*fd = -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	snprintf(peer, psize, "%s", data);
	{
		size_t pl = strnlen(data, (size_t)n);
		snprintf(ip, isize, "%s", pl + 1 < (size_t)n ? data + pl + 1 : "");
	}
	if (*fd >= 0)
		fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

void worker_report(int ch, uint32_t received, uint32_t users)
{
	uint32_t msg[2] = {received, users};

	if (send(ch, msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		LOGD("cannot report load to the master: %s", strerror(errno));
}

int worker_limit_fds(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return errno;
	if (rl.rlim_cur > FD_SETSIZE)
		rl.rlim_cur = FD_SETSIZE;
	return setrlimit(RLIMIT_NOFILE, &rl) ? errno : 0;
}

struct wproc {
	pid_t pid;
	int ch;
	uint32_t users;          /* connections it serves plus sockets on their way */
	uint32_t sent;           /* sockets handed over (wraps) */
	uint64_t started;
};

struct master {
	struct loop *loop;
	const struct rx_config *cfg;
	char **argv;
	int lfd;
	int sigfd;
	struct wproc w[MAX_WORKERS];
	uint32_t n;              /* slots in use */
	uint32_t max;            /* most workers we may start */
	bool stopping;
	uint64_t deadline;
	struct tmr tmr;
	unsigned respawns;
	uint64_t respawn_window;
};

static void on_worker_msg(int fd, int flags, void *arg);

static int spawn(struct master *m, uint32_t i)
{
	int sv[2], argc = 0;
	char chbuf[16], ibuf[16];
	char **argv;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return errno;
	while (m->argv[argc])
		argc++;
	argv = calloc((size_t)argc + 5, sizeof(*argv));
	if (!argv) {
		close(sv[0]);
		close(sv[1]);
		return ENOMEM;
	}
	snprintf(chbuf, sizeof(chbuf), "%d", sv[1]);
	snprintf(ibuf, sizeof(ibuf), "%u", i + 1);
	memcpy(argv, m->argv, (size_t)argc * sizeof(*argv));
	argv[argc++] = "--worker-channel";
	argv[argc++] = chbuf;
	argv[argc++] = "--worker-index";
	argv[argc++] = ibuf;
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fcntl(sv[1], F_SETFD, 0);   /* the worker keeps its end */
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	free(argv);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return errno;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	m->w[i].pid = pid;
	m->w[i].ch = sv[0];
	m->w[i].users = 0;
	m->w[i].sent = 0;
	m->w[i].started = loop_now();
	if (i >= m->n)
		m->n = i + 1;
	loop_fd_listen(m->loop, sv[0], LOOP_READ, on_worker_msg, m);
	LOGI("worker %u started (pid %d)", i + 1, (int)pid);
	return 0;
}

static struct wproc *by_ch(struct master *m, int ch)
{
	for (uint32_t i = 0; i < m->n; i++)
		if (m->w[i].pid > 0 && m->w[i].ch == ch)
			return &m->w[i];
	return NULL;
}

static void on_worker_msg(int fd, int flags, void *arg)
{
	struct master *m = arg;
	struct wproc *w = by_ch(m, fd);
	uint32_t msg[2];
	ssize_t n;

	(void)flags;
	/* users = what it serves + what it has not received yet */
	while (w && (n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT)) == sizeof(msg))
		w->users = msg[1] + (w->sent - msg[0]);
	if (w && n == 0)
		loop_fd_close(m->loop, fd);   /* gone: SIGCHLD tells the rest */
}

static uint32_t total_users(const struct master *m)
{
	uint32_t t = 0;
	for (uint32_t i = 0; i < m->n; i++)
		if (m->w[i].pid > 0)
			t += m->w[i].users;
	return t;
}

/* Same client address, same worker when it has room (so that a client's
 * connections, e.g. echo publisher and player, meet); else the least
 * loaded; else a new worker. */
static struct wproc *pick(struct master *m, const char *ip)
{
	uint32_t h = 2166136261u, cap = m->cfg->users_per_worker;
	struct wproc *best = NULL;

	for (const char *p = ip; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	if (m->n && m->w[h % m->n].pid > 0 && m->w[h % m->n].users < cap)
		return &m->w[h % m->n];
	for (uint32_t i = 0; i < m->n; i++) {
		struct wproc *w = &m->w[i];
		if (w->pid > 0 && w->users < cap && (!best || w->users < best->users))
			best = w;
	}
	if (best)
		return best;
	for (uint32_t i = 0; i < m->max; i++) {
		if (m->w[i].pid <= 0 && !spawn(m, i))
			return &m->w[i];
	}
	return NULL;
}

static void peer_of(int fd, char *peer, size_t psize, char *ip, size_t isize)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char port[16];

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) ||
	    getnameinfo((struct sockaddr *)&ss, sl, ip, (socklen_t)isize, port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(ip, isize, "?");
		snprintf(port, sizeof(port), "?");
	}
	snprintf(peer, psize, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", ip, port);
}

static void on_accept(int lfd, int flags, void *arg)
{
	struct master *m = arg;

	(void)flags;
	for (int i = 0; i < 64; i++) {
		char peer[64], ip[48];
		struct wproc *w;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LOGW("accept: %s", strerror(errno));
			return;
		}
		peer_of(fd, peer, sizeof(peer), ip, sizeof(ip));
		w = total_users(m) < m->cfg->max_connections ? pick(m, ip) : NULL;
		if (!w) {
			LOGW("refusing %s: connection limit reached", peer);
		} else if (worker_send_fd(w->ch, fd, peer, ip)) {
			LOGW("refusing %s: cannot hand it to worker pid %d", peer, (int)w->pid);
		} else {
			w->users++;
			w->sent++;
		}
		close(fd);
	}
}

static void reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (uint32_t i = 0; i < m->n; i++) {
			struct wproc *w = &m->w[i];
			if (w->pid != pid)
				continue;
			loop_fd_close(m->loop, w->ch);
			close(w->ch);
			w->pid = 0;
			w->users = 0;
			if (m->stopping)
				break;
			if (WIFSIGNALED(status))
				LOGE("worker %u (pid %d) died of signal %d; its clients were "
				     "disconnected", i + 1, (int)pid, WTERMSIG(status));
			else
				LOGE("worker %u (pid %d) exited with status %d", i + 1, (int)pid,
				     WEXITSTATUS(status));
			if (loop_now() - m->respawn_window > 60000) {
				m->respawn_window = loop_now();
				m->respawns = 0;
			}
			if (m->respawns++ < 10)
				spawn(m, i);
			else
				LOGE("workers keep dying: not restarting worker %u", i + 1);
			break;
		}
	}
}

static bool all_gone(const struct master *m)
{
	for (uint32_t i = 0; i < m->n; i++)
		if (m->w[i].pid > 0)
			return false;
	return true;
}

static void on_stop_tick(void *arg)
{
	struct master *m = arg;

	reap(m);
	if (all_gone(m)) {
		loop_stop(m->loop);
		return;
	}
	if (loop_now() > m->deadline) {
		LOGW("workers did not stop in time: killing them");
		for (uint32_t i = 0; i < m->n; i++)
			if (m->w[i].pid > 0)
				kill(m->w[i].pid, SIGKILL);
		m->deadline = UINT64_MAX;
	}
	tmr_start(m->loop, &m->tmr, 50, on_stop_tick, m);
}

static void on_signal(int fd, int flags, void *arg)
{
	struct master *m = arg;
	struct signalfd_siginfo si;

	(void)flags;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap(m);
			continue;
		}
		if (m->stopping)
			continue;
		LOGI("signal %u: shutting down", si.ssi_signo);
		m->stopping = true;
		loop_fd_close(m->loop, m->lfd);
		close(m->lfd);
		m->lfd = -1;
		for (uint32_t i = 0; i < m->n; i++)
			if (m->w[i].pid > 0)
				kill(m->w[i].pid, SIGTERM);
		m->deadline = loop_now() + STOP_GRACE_MS;
		on_stop_tick(m);
	}
}

int master_run(const struct rx_config *cfg, char **argv)
{
	struct master *m = mem_zalloc(sizeof(*m), NULL);
	sigset_t set;
	int err, status = 1;

	if (!m)
		return 1;
	m->cfg = cfg;
	m->argv = argv;
	m->lfd = m->sigfd = -1;
	m->max = (cfg->max_connections + cfg->users_per_worker - 1) / cfg->users_per_worker;
	if (m->max > MAX_WORKERS)
		m->max = MAX_WORKERS;
	if (m->max < cfg->workers)
		m->max = cfg->workers < MAX_WORKERS ? cfg->workers : MAX_WORKERS;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	err = loop_alloc(&m->loop);
	if (!err)
		err = server_listen(cfg, &m->lfd);
	if (!err)
		err = loop_fd_listen(m->loop, m->lfd, LOOP_READ, on_accept, m);
	if (!err)
		err = loop_fd_listen(m->loop, m->sigfd, LOOP_READ, on_signal, m);
	for (uint32_t i = 0; !err && i < cfg->workers && i < m->max; i++)
		err = spawn(m, i);
	if (!err) {
		LOGI("listening on rtmp://%s:%u/%s (%u workers, %u connections each)",
		     cfg->listen_host, cfg->listen_port, cfg->app, cfg->workers,
		     cfg->users_per_worker);
		printf("rtmp2xmpp %s ready: rtmp://%s:%u/%s (echo test: publish and play \"echo\")\n",
		       RX_VERSION, cfg->listen_host, cfg->listen_port, cfg->app);
		fflush(stdout);
		status = loop_run(m->loop) ? 1 : 0;
	} else {
		for (uint32_t i = 0; i < m->n; i++)
			if (m->w[i].pid > 0)
				kill(m->w[i].pid, SIGKILL);
	}
	tmr_cancel(m->loop, &m->tmr);
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->sigfd >= 0)
		close(m->sigfd);
	for (uint32_t i = 0; i < m->n; i++)
		if (m->w[i].pid > 0)
			close(m->w[i].ch);
	mem_deref(m->loop);
	mem_deref(m);
	LOGI("stopped");
	return err ? 1 : status;
}
