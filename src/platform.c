/* platform.c - monotonic clock, eventfd wake-ups, checked locking. */
#include "platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

uint64_t ferry__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ferry__now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int ferry__wakefd_open(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void ferry__wakefd_signal(int fd)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is already huge: the reader will wake anyway. */
	while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

void ferry__wakefd_drain(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
		;
}

static void check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "ferry: %s failed: error %d\n", what, rc);
		abort();
	}
}

void ferry__lock(pthread_mutex_t *m)
{
	check(pthread_mutex_lock(m), "pthread_mutex_lock");
}

void ferry__unlock(pthread_mutex_t *m)
{
	check(pthread_mutex_unlock(m), "pthread_mutex_unlock");
}

int ferry__cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	int rc = pthread_condattr_init(&a);
	if (rc)
		return rc;
	rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
	return rc;
}

void ferry__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, uint64_t deadline_ms)
{
	if (deadline_ms == UINT64_MAX) {
		check(pthread_cond_wait(cv, m), "pthread_cond_wait");
		return;
	}
	struct timespec ts = {(time_t)(deadline_ms / 1000u), (long)(deadline_ms % 1000u) * 1000000L};
	int rc = pthread_cond_timedwait(cv, m, &ts);
	if (rc && rc != ETIMEDOUT)
		check(rc, "pthread_cond_timedwait");
}
