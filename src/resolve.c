/*
 * resolve.c - asynchronous name resolution with getaddrinfo_a (see
 * resolve.h). The job is shared by its owner and glibc's notification: a
 * reference count (under the job's lock) frees it when both are done.
 */
#include "resolve.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/error.h"

struct ferry_resolve {
	pthread_mutex_t mu;
	int refs;                   /* owner + pending notification */
	void (*done)(void *arg);    /* [mu] NULL once released */
	void *arg;                  /* [mu] */
	struct gaicb req;
	struct addrinfo hints;
	char host[256];
	char service[8];
};

static void unref_locked(struct ferry_resolve *r)
{
	if (--r->refs > 0) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	pthread_mutex_unlock(&r->mu);
	if (r->req.ar_result)
		freeaddrinfo(r->req.ar_result);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void notify(union sigval v)
{
	struct ferry_resolve *r = v.sival_ptr;
	pthread_mutex_lock(&r->mu);
	if (r->done)
		r->done(r->arg);
	unref_locked(r);
}

int ferry__resolve_start(const char *host, size_t host_len, uint16_t port, void (*done)(void *arg),
                         void *arg, struct ferry_resolve **out)
{
	struct ferry_resolve *r = calloc(1, sizeof *r);
	if (!r)
		return FERRY_ERR_NOMEM;
	if (host_len == 0 || host_len >= sizeof r->host) {
		free(r);
		return FERRY_ERR_INVAL;
	}
	pthread_mutex_init(&r->mu, NULL);
	memcpy(r->host, host, host_len);
	snprintf(r->service, sizeof r->service, "%u", port);
	r->hints.ai_family = AF_UNSPEC;
	r->hints.ai_socktype = SOCK_STREAM;
	r->hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	r->req.ar_name = r->host;
	r->req.ar_service = r->service;
	r->req.ar_request = &r->hints;
	r->done = done;
	r->arg = arg;
	r->refs = 2;
	struct sigevent sev = {.sigev_notify = SIGEV_THREAD};
	sev.sigev_value.sival_ptr = r;
	sev.sigev_notify_function = notify;
	struct gaicb *list[1] = {&r->req};
	if (getaddrinfo_a(GAI_NOWAIT, list, 1, &sev) != 0) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		return FERRY_ERR_DNS;
	}
	*out = r;
	return FERRY_OK;
}

int ferry__resolve_result(struct ferry_resolve *r, const struct addrinfo **ai, char *err,
                          size_t errcap)
{
	int g = gai_error(&r->req);
	if (g == EAI_INPROGRESS)
		return 1;
	if (g == 0 && r->req.ar_result) {
		*ai = r->req.ar_result;
		return 0;
	}
	snprintf(err, errcap, "cannot resolve %s: %s", r->host, gai_strerror(g ? g : EAI_NONAME));
	return FERRY_ERR_DNS;
}

void ferry__resolve_release(struct ferry_resolve *r)
{
	if (!r)
		return;
	/* Cancel outside our lock: glibc's notification takes it. A cancelled
	 * request is never notified, so its reference is dropped here; one that
	 * already runs or ran notifies (done() may still run until we lock). */
	bool cancelled = gai_cancel(&r->req) == EAI_CANCELED;
	pthread_mutex_lock(&r->mu);
	r->done = NULL;
	r->arg = NULL;
	if (cancelled)
		r->refs--;
	unref_locked(r);
}
