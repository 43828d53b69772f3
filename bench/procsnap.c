/* CPU time and memory of a process tree, from /proc: the server under test
 * (our gateway's master and workers, nginx, the floor). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "load.h"
#include "mem.h"

struct pinfo {
	int pid, ppid;
	double cpu_s;
	bool in;
};

static bool read_stat(int pid, struct pinfo *pi)
{
	char path[64], line[1024];
	unsigned long ut, st;
	const char *p;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(fp = fopen(path, "r")))
		return false;
	p = fgets(line, sizeof(line), fp) ? strrchr(line, ')') : NULL;
	fclose(fp);
	/* after "pid (comm)": state, ppid, ... utime is field 14, stime 15 */
	if (!p || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pi->ppid,
			 &ut, &st) != 3)
		return false;
	pi->pid = pid;
	pi->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return true;
}

/* Sum the schedstat run time of every thread of pid. */
static void add_threads(int pid, struct proc_snap *s)
{
	char path[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		unsigned long long run;
		FILE *fp;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", pid, e->d_name);
		if ((fp = fopen(path, "r"))) {
			if (fscanf(fp, "%llu", &run) == 1)
				s->run_ns += run;
			fclose(fp);
		}
		s->threads++;
	}
	closedir(d);
}

static void add_mem(int pid, struct proc_snap *s)
{
	char path[64], line[256];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(fp = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long kb;
		if (sscanf(line, "VmRSS: %llu", &kb) == 1)
			s->rss_kb += kb;
		else if (sscanf(line, "VmHWM: %llu", &kb) == 1)
			s->hwm_kb += kb;
	}
	fclose(fp);
}

static size_t list_procs(struct pinfo **out)
{
	size_t n = 0, cap = 256;
	struct pinfo *v = mem_alloc(cap * sizeof(*v), NULL);
	struct dirent *e;
	DIR *d = opendir("/proc");

	while (v && d && (e = readdir(d))) {
		struct pinfo pi = {0};
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !read_stat(atoi(e->d_name), &pi))
			continue;
		if (n == cap) {
			struct pinfo *w = mem_realloc(v, 2 * cap * sizeof(*v));
			if (!w)
				break;
			v = w;
			cap *= 2;
		}
		v[n++] = pi;
	}
	if (d)
		closedir(d);
	*out = v;
	return v ? n : 0;
}

void proc_snap(int pid, struct proc_snap *s)
{
	struct pinfo *v;
	size_t n;
	bool grew = true;

	memset(s, 0, sizeof(*s));
	if (pid <= 0 || !(n = list_procs(&v)))
		return;
	for (size_t i = 0; i < n; i++)
		v[i].in = v[i].pid == pid;
	while (grew) {   /* add children of members until nothing changes */
		grew = false;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; !v[i].in && j < n; j++)
				if (v[j].in && v[j].pid == v[i].ppid)
					v[i].in = grew = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (!v[i].in)
			continue;
		s->ok = true;
		s->procs++;
		s->cpu_s += v[i].cpu_s;
		add_threads(v[i].pid, s);
		add_mem(v[i].pid, s);
	}
	mem_deref(v);
}
