/* tokens.c - pending-token set and recent results (see tokens.h). */
#include "tokens.h"

#include <stdlib.h>
#include <string.h>

#include "ferry/error.h"

#define DELETED UINT64_MAX

void ferry__tokens_init(struct ferry_tokens *t)
{
	memset(t, 0, sizeof *t);
}

void ferry__tokens_free(struct ferry_tokens *t)
{
	free(t->slots);
	free(t->ring);
	t->slots = NULL;
	t->ring = NULL;
	t->cap = t->used = t->live = 0;
}

static size_t hash(uint64_t v, size_t cap)
{
	v ^= v >> 33;
	v *= UINT64_C(0xff51afd7ed558ccd);
	v ^= v >> 33;
	return (size_t)v & (cap - 1);
}

static int rehash(struct ferry_tokens *t, size_t cap)
{
	uint64_t *ns = calloc(cap, sizeof *ns);
	if (!ns)
		return FERRY_ERR_NOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		uint64_t v = t->slots[i];
		if (v == 0 || v == DELETED)
			continue;
		size_t j = hash(v, cap);
		while (ns[j])
			j = (j + 1) & (cap - 1);
		ns[j] = v;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = cap;
	t->used = t->live;
	return FERRY_OK;
}

int ferry__tokens_add(struct ferry_tokens *t, uint64_t token)
{
	if ((t->used + 1) * 4 > t->cap * 3) {
		size_t cap = t->cap ? t->cap : 64;
		while ((t->live + 1) * 2 > cap)
			cap *= 2;
		int rc = rehash(t, cap);
		if (rc)
			return rc;
	}
	size_t j = hash(token, t->cap);
	while (t->slots[j] && t->slots[j] != DELETED)
		j = (j + 1) & (t->cap - 1);
	if (t->slots[j] == 0)
		t->used++;
	t->slots[j] = token;
	t->live++;
	return FERRY_OK;
}

static size_t find(const struct ferry_tokens *t, uint64_t token)
{
	if (!t->cap)
		return SIZE_MAX;
	size_t j = hash(token, t->cap);
	for (size_t n = 0; n < t->cap && t->slots[j]; n++) {
		if (t->slots[j] == token)
			return j;
		j = (j + 1) & (t->cap - 1);
	}
	return SIZE_MAX;
}

void ferry__tokens_complete(struct ferry_tokens *t, uint64_t token, int rc)
{
	size_t j = find(t, token);
	if (j == SIZE_MAX)
		return; /* nobody holds this token: nothing to remember */
	t->slots[j] = DELETED;
	t->live--;
	if (!t->ring && !(t->ring = calloc(FERRY_RESULTS_KEPT, sizeof *t->ring)))
		return; /* the result is forgotten: ferry_wait says NOT_FOUND */
	t->ring[t->ring_next].token = token;
	t->ring[t->ring_next].rc = rc;
	t->ring_next = (t->ring_next + 1) % FERRY_RESULTS_KEPT;
}

int ferry__tokens_state(const struct ferry_tokens *t, uint64_t token, int *rc)
{
	if (token == 0 || token == DELETED)
		return -1;
	if (find(t, token) != SIZE_MAX)
		return 1;
	for (size_t i = 0; t->ring && i < FERRY_RESULTS_KEPT; i++) {
		if (t->ring[i].token == token) {
			*rc = t->ring[i].rc;
			return 0;
		}
	}
	return -1;
}
