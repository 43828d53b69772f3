/* rtmp2xmpp: the gateway's entry point. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <librtmp/log.h>
#include "config.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "rtmp.h"
#include "xlink.h"
#include "xsess.h"
#include "worker.h"

struct app {
	struct loop *loop;
	struct server *srv;
	int sigfd;
};

static void on_stopped(void *arg)
{
	struct app *a = arg;
	loop_stop(a->loop);
}

static void on_signal(int fd, int flags, void *arg)
{
	struct app *a = arg;
	struct signalfd_siginfo si;

	(void)flags;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (a->srv->stopping) {
		LOGW("second signal: exiting now");
		loop_stop(a->loop);
		return;
	}
	LOGI("signal %u: shutting down", si.ssi_signo);
	server_shutdown(a->srv, on_stopped, a);
}

int main(int argc, char **argv)
{
	struct rx_config cfg;
	struct app a = {.sigfd = -1};
	char **orig = calloc((size_t)argc + 1, sizeof(*orig));
	sigset_t set;
	int err;

	if (!orig)
		return 1;
	memcpy(orig, argv, (size_t)argc * sizeof(*orig));   /* workers get the same flags */
	config_defaults(&cfg);
	err = config_load(&cfg, &argc, &argv);
	if (err) {
		free(orig);
		return err < 0 ? 2 : 0;
	}
	log_set_level(cfg.log_level);
	if (cfg.workers > 0 && cfg.worker_channel < 0) {
		err = master_run(&cfg, orig);
		free(orig);
		return err;
	}
	free(orig);
	if (cfg.worker_channel >= 0) {
		char p[16];
		snprintf(p, sizeof(p), "w%d", cfg.worker_index);
		log_set_prefix(p);
		if (worker_limit_fds())
			LOGW("cannot limit descriptors to %d", FD_SETSIZE);
	}
	RTMP_LogSetLevel(RTMP_LOGCRIT);   /* librtmp is used for AMF only */
	xsess_global_init();
	xauto_global_init();

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	a.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);

	err = loop_alloc(&a.loop);
	if (err) {
		LOGE("event loop: %s", strerror(err));
		return 1;
	}
	err = server_alloc(&a.srv, a.loop, &cfg, on_stopped, &a);
	if (!err)
		err = loop_fd_listen(a.loop, a.sigfd, LOOP_READ, on_signal, &a);
	if (!err && cfg.worker_channel < 0) {
		printf("rtmp2xmpp %s ready: rtmp://%s:%u/%s (echo test: publish and play \"echo\")\n",
		       RX_VERSION, cfg.listen_host, cfg.listen_port, cfg.app);
		fflush(stdout);
	}
	if (!err)
		err = loop_run(a.loop);
	mem_deref(a.srv);
	if (a.sigfd >= 0) {
		loop_fd_close(a.loop, a.sigfd);
		close(a.sigfd);
	}
	mem_deref(a.loop);
	LOGI("stopped");
	return err ? 1 : 0;
}
