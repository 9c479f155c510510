/*
 * tokens.h - which of a client's tokens are still pending, and the results
 * of the most recently completed ones, for ferry_wait.
 *
 * Not thread-safe: the client's lock guards it. Memory: proportional to the
 * number of pending tokens that someone may wait for, plus a ring of recent
 * results (64 KiB) allocated only once a waited-for token completes, so a
 * gateway's thousands of clients that never wait pay nothing for it.
 */
#ifndef FERRY_TOKENS_H
#define FERRY_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_RESULTS_KEPT 4096u

struct ferry_tokens {
	uint64_t *slots; /* open addressing; 0 = empty, UINT64_MAX = deleted */
	size_t cap;      /* power of two, or 0 */
	size_t used;     /* live + deleted */
	size_t live;
	struct ferry_token_result {
		uint64_t token;
		int rc;
	} *ring;          /* FERRY_RESULTS_KEPT entries, allocated on the first result */
	size_t ring_next;
};

void ferry__tokens_init(struct ferry_tokens *t);
void ferry__tokens_free(struct ferry_tokens *t);
/* Remember a pending token; FERRY_OK or FERRY_ERR_NOMEM. */
int ferry__tokens_add(struct ferry_tokens *t, uint64_t token);
/* A pending token completed with rc: it moves to the results ring. Tokens
 * never added are ignored. */
void ferry__tokens_complete(struct ferry_tokens *t, uint64_t token, int rc);
/* 1 = pending, 0 = completed (*rc set), -1 = unknown (never added or forgotten). */
int ferry__tokens_state(const struct ferry_tokens *t, uint64_t token, int *rc);

#endif
