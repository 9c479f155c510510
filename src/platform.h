/*
 * platform.h - the few platform primitives the engine uses, in one place:
 * the monotonic clock, eventfd wake-ups and checked mutex/condition calls.
 * Not for pure modules (they take time as a parameter).
 */
#ifndef FERRY_PLATFORM_H
#define FERRY_PLATFORM_H

#include <pthread.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t ferry__now_ms(void);
/* Microseconds on CLOCK_MONOTONIC. */
uint64_t ferry__now_us(void);

/* A non-blocking, close-on-exec eventfd, or -1 with errno set. */
int ferry__wakefd_open(void);
/* Make the wake fd readable (safe from any thread; never blocks). */
void ferry__wakefd_signal(int fd);
/* Drain the wake fd (never blocks). */
void ferry__wakefd_drain(int fd);

/* Mutex and condition helpers; they abort on the impossible errors
 * (EINVAL, EDEADLK), which only a bug in ferry can cause. */
void ferry__lock(pthread_mutex_t *m);
void ferry__unlock(pthread_mutex_t *m);
/* Wait until signalled or until the monotonic deadline (ms, UINT64_MAX: none). */
void ferry__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *m, uint64_t deadline_ms);
/* Initialise a condition variable that waits on CLOCK_MONOTONIC. */
int ferry__cond_init(pthread_cond_t *cv);

#endif
