/*
 * resolve.h - asynchronous name resolution for the send thread, so a slow
 * DNS answer for one client never stalls the others (each lookup runs on a
 * short-lived thread of its own; `done` is called on that thread).
 *
 * Ownership: a job belongs to its starter until ferry__resolve_release,
 * which may be called at any time (also while the lookup still runs: the
 * job then frees itself when glibc is done with it, and `done` is not
 * called any more). `done(arg)` is called at most once, on another thread,
 * with the job's own lock held: it must only signal (e.g. kick the send
 * thread), never block or call back into the job.
 */
#ifndef FERRY_RESOLVE_H
#define FERRY_RESOLVE_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

struct ferry_resolve;

/*
 * ferry__resolve_start - look up host:port for a TCP connection. Returns
 * FERRY_OK with *out set, FERRY_ERR_INVAL (host too long), FERRY_ERR_NOMEM
 * or FERRY_ERR_SYSTEM (no thread for the lookup).
 */
int ferry__resolve_start(const char *host, size_t host_len, uint16_t port, void (*done)(void *arg),
                         void *arg, struct ferry_resolve **out);

/*
 * ferry__resolve_result - 1 while the lookup runs; 0 when it succeeded
 * (*ai: the first address, owned by the job); FERRY_ERR_DNS with `err` set
 * when it failed.
 */
int ferry__resolve_result(struct ferry_resolve *r, const struct addrinfo **ai, char *err,
                          size_t errcap);

/* ferry__resolve_release - give the job up (NULL is fine); see above. */
void ferry__resolve_release(struct ferry_resolve *r);

#endif
