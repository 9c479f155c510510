/*
 * resolve.c - asynchronous name resolution (see resolve.h): each lookup runs
 * getaddrinfo on a short-lived detached thread of its own, so the send
 * thread never waits for DNS. (glibc's getaddrinfo_a does the same with
 * threads that sanitizers cannot follow; ours are ordinary pthreads.)
 *
 * The job is shared by its owner and its thread: a reference count under the
 * job's lock frees it when both are done. A released job's thread finishes
 * its lookup, which cannot be interrupted, and then frees the job.
 */
#include "resolve.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/error.h"

struct ferry_resolve {
	pthread_mutex_t mu;
	int refs;                /* [mu] owner + lookup thread */
	bool finished;           /* [mu] the lookup is over */
	int gai;                 /* [mu] getaddrinfo's result once finished */
	struct addrinfo *result; /* [mu] owned, once finished */
	void (*done)(void *arg); /* [mu] NULL once released */
	void *arg;               /* [mu] */
	char host[256];          /* const after start */
	char service[8];
};

static void unref_locked(struct ferry_resolve *r)
{
	if (--r->refs > 0) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	pthread_mutex_unlock(&r->mu);
	if (r->result)
		freeaddrinfo(r->result);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void *lookup(void *arg)
{
	struct ferry_resolve *r = arg;
	pthread_setname_np(pthread_self(), "ferry-dns");
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(r->host, r->service, &hints, &ai);
	pthread_mutex_lock(&r->mu);
	r->finished = true;
	r->gai = g;
	r->result = g == 0 ? ai : NULL;
	if (r->done)
		r->done(r->arg);
	unref_locked(r);
	return NULL;
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
	r->done = done;
	r->arg = arg;
	r->refs = 2;
	pthread_attr_t attr;
	pthread_t t;
	int rc = pthread_attr_init(&attr);
	if (!rc)
		rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (!rc)
		rc = pthread_create(&t, &attr, lookup, r);
	pthread_attr_destroy(&attr);
	if (rc) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		return FERRY_ERR_SYSTEM;
	}
	*out = r;
	return FERRY_OK;
}

int ferry__resolve_result(struct ferry_resolve *r, const struct addrinfo **ai, char *err,
                          size_t errcap)
{
	pthread_mutex_lock(&r->mu);
	int rc = 1;
	if (r->finished && r->result) {
		*ai = r->result;
		rc = 0;
	} else if (r->finished) {
		snprintf(err, errcap, "cannot resolve %s: %s", r->host,
		         gai_strerror(r->gai ? r->gai : EAI_NONAME));
		rc = FERRY_ERR_DNS;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void ferry__resolve_release(struct ferry_resolve *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->done = NULL;
	r->arg = NULL;
	unref_locked(r);
}
