/*
 * scale_common.h - what the three scale programs (scale_ferry, scale_paho,
 * scale_mosquitto) share: their command line, the clock, and the thread and
 * memory counts read from /proc. Header-only (static functions): each
 * program is one file linked with one library.
 */
#ifndef FERRY_BENCH_SCALE_COMMON_H
#define FERRY_BENCH_SCALE_COMMON_H

#include <dirent.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_NS 2000000L /* 2 ms between looks at the counters */

struct opts {
	const char *host;
	int port, clients, keepalive_s, hold_s, timeout_s;
	bool single; /* scale_mosquitto --loop single: one driving thread for all clients */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap(void)
{
	struct timespec ts = {0, POLL_NS};
	nanosleep(&ts, NULL);
}

/* Number of threads of this process (entries of /proc/self/task). */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* VmRSS of this process in kB, or -1. */
static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int num_arg(const char *s, const char *prog)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > 10000000L) {
		fprintf(stderr, "%s: not a number: %s\n", prog, s);
		exit(2);
	}
	return (int)v;
}

/* Parses the common options; --loop only when allow_loop (scale_mosquitto). */
static void parse_opts(int argc, char **argv, struct opts *o, bool allow_loop)
{
	static const struct option lo[] = {
	    {"host", 1, 0, 'h'},      {"port", 1, 0, 'p'}, {"clients", 1, 0, 'n'},
	    {"keepalive", 1, 0, 'k'}, {"hold", 1, 0, 'H'}, {"timeout", 1, 0, 't'},
	    {"loop", 1, 0, 'l'},      {0, 0, 0, 0},
	};
	int ch;

	*o = (struct opts){"127.0.0.1", 1883, 1000, 5, 10, 120, false};
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			o->host = optarg;
			break;
		case 'p':
			o->port = num_arg(optarg, argv[0]);
			break;
		case 'n':
			o->clients = num_arg(optarg, argv[0]);
			break;
		case 'k':
			o->keepalive_s = num_arg(optarg, argv[0]);
			break;
		case 'H':
			o->hold_s = num_arg(optarg, argv[0]);
			break;
		case 't':
			o->timeout_s = num_arg(optarg, argv[0]);
			break;
		case 'l':
			if (!allow_loop || (strcmp(optarg, "single") && strcmp(optarg, "threads")))
				goto bad;
			o->single = strcmp(optarg, "single") == 0;
			break;
		default:
			goto bad;
		}
	}
	if (optind == argc && o->clients >= 1 && o->port >= 1 && o->port <= 65535 &&
	    o->keepalive_s <= 65535 && o->timeout_s >= 1)
		return;
bad:
	fprintf(stderr,
	        "usage: %s --host H --port P --clients N --keepalive S --hold S [--timeout S]%s\n",
	        argv[0], allow_loop ? "\n          [--loop threads|single]" : "");
	exit(2);
}

#endif
