/*
 * context.c - a context: the send thread (tx) and the receive thread (rx),
 * their epoll sets and wake-up eventfds, the timer heap, the dispatch queue
 * and the retire hand-off (see engine.h for the rules).
 *
 * tx loop: wait on tx_ep (wake fd, sockets connecting or blocked on write)
 * until the earliest client deadline; then serve the clients that were
 * kicked, that became writable, or whose deadline passed; then pass retired
 * clients on to rx.
 * rx loop: wait on rx_ep (wake fd, sockets) without timeout; read every
 * readable client; then run queued events (callbacks) in order; then finish
 * retiring clients.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "engine.h"
#include "platform.h"

#define MAX_EVENTS 64
/* The longest either thread sleeps, even with nothing due: a wake-up the
 * kernel failed to deliver (an eventfd write that failed) costs at most this
 * much delay, never a hang (a destroy waiting on a thread join). */
#define WAKE_GUARD_MS 1000

/* ---- timer heap (tx only) -------------------------------------------------- */

static void heap_swap(struct ferry_context *ctx, size_t a, size_t b)
{
	struct ferry_client *t = ctx->heap[a];
	ctx->heap[a] = ctx->heap[b];
	ctx->heap[b] = t;
	ctx->heap[a]->heap_idx = a;
	ctx->heap[b]->heap_idx = b;
}

static void heap_up(struct ferry_context *ctx, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (ctx->heap[p]->deadline <= ctx->heap[i]->deadline)
			break;
		heap_swap(ctx, p, i);
		i = p;
	}
}

static void heap_down(struct ferry_context *ctx, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < ctx->heap_len && ctx->heap[l]->deadline < ctx->heap[m]->deadline)
			m = l;
		if (r < ctx->heap_len && ctx->heap[r]->deadline < ctx->heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(ctx, i, m);
		i = m;
	}
}

void ferry__ctx_heap_remove(struct ferry_client *c)
{
	struct ferry_context *ctx = c->ctx;
	size_t i = c->heap_idx;
	if (i == SIZE_MAX)
		return;
	c->heap_idx = SIZE_MAX;
	ctx->heap_len--;
	if (i == ctx->heap_len)
		return;
	ctx->heap[i] = ctx->heap[ctx->heap_len];
	ctx->heap[i]->heap_idx = i;
	heap_up(ctx, i);
	heap_down(ctx, ctx->heap[i]->heap_idx);
}

void ferry__ctx_heap_update(struct ferry_client *c)
{
	struct ferry_context *ctx = c->ctx;
	if (c->deadline == UINT64_MAX) {
		ferry__ctx_heap_remove(c);
		return;
	}
	if (c->heap_idx == SIZE_MAX) {
		if (ctx->heap_len == ctx->heap_cap) {
			size_t cap = ctx->heap_cap ? ctx->heap_cap * 2 : 64;
			struct ferry_client **nh = realloc(ctx->heap, cap * sizeof *nh);
			if (!nh)
				return; /* served again at its next kick; nothing lost */
			ctx->heap = nh;
			ctx->heap_cap = cap;
		}
		c->heap_idx = ctx->heap_len;
		ctx->heap[ctx->heap_len++] = c;
	}
	heap_up(ctx, c->heap_idx);
	heap_down(ctx, c->heap_idx);
}

/* ---- cross-thread requests ---------------------------------------------- */

void ferry__ctx_kick_tx(struct ferry_client *c)
{
	struct ferry_context *ctx = c->ctx;
	bool wake = false;
	ferry__lock(&ctx->mu);
	if (!c->tx_queued && !c->retiring) {
		c->tx_queued = true;
		c->tx_next = NULL;
		if (ctx->tx_ready_tail)
			ctx->tx_ready_tail->tx_next = c;
		else
			ctx->tx_ready = c;
		ctx->tx_ready_tail = c;
		wake = ctx->tx_asleep; /* an awake tx takes the ready list before sleeping */
		ctx->tx_asleep = false;
	}
	ferry__unlock(&ctx->mu);
	if (wake)
		ferry__wakefd_signal(ctx->tx_wake);
}

void ferry__ctx_post(struct ferry_context *ctx, struct ferry_event *ev)
{
	ev->next = NULL;
	ferry__ctx_post_chain(ctx, ev, ev);
}

void ferry__ctx_post_chain(struct ferry_context *ctx, struct ferry_event *head,
                           struct ferry_event *tail)
{
	tail->next = NULL;
	ferry__lock(&ctx->mu);
	bool wake = ctx->rx_asleep; /* an awake rx takes the queue before sleeping */
	ctx->rx_asleep = false;
	if (ctx->ev_tail)
		ctx->ev_tail->next = head;
	else
		ctx->ev_head = head;
	ctx->ev_tail = tail;
	ferry__unlock(&ctx->mu);
	if (wake)
		ferry__wakefd_signal(ctx->rx_wake);
}

void ferry__ctx_retire(struct ferry_client *c)
{
	struct ferry_context *ctx = c->ctx;
	ferry__lock(&ctx->mu);
	c->retiring = true;
	c->retire_next = ctx->retire_tx;
	ctx->retire_tx = c;
	ferry__unlock(&ctx->mu);
	ferry__wakefd_signal(ctx->tx_wake);
}

bool ferry__ctx_on_rx_thread(const struct ferry_context *ctx)
{
	return pthread_equal(pthread_self(), ctx->rx_thread) != 0;
}

bool ferry__ctx_on_own_thread(const struct ferry_context *ctx)
{
	return pthread_equal(pthread_self(), ctx->rx_thread) ||
	       pthread_equal(pthread_self(), ctx->tx_thread);
}

int ferry__ctx_watch_rx(struct ferry_client *c, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	if (epoll_ctl(c->ctx->rx_ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return FERRY_ERR_SYSTEM;
	c->in_rx_ep = true;
	return FERRY_OK;
}

int ferry__ctx_watch_tx(struct ferry_client *c, int fd, bool want_out, bool want_in)
{
	/* want_in: only while the send thread runs a handshake (it reads then). */
	uint32_t events = (want_out ? (uint32_t)EPOLLOUT : 0u) | (want_in ? (uint32_t)EPOLLIN : 0u);
	struct epoll_event ev = {.events = events, .data.ptr = c};
	int op = c->in_tx_ep ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(c->ctx->tx_ep, op, fd, &ev) != 0)
		return FERRY_ERR_SYSTEM;
	c->in_tx_ep = true;
	c->tx_want_out = want_out;
	return FERRY_OK;
}

void ferry__ctx_unwatch(struct ferry_client *c, int fd)
{
	if (c->in_rx_ep)
		epoll_ctl(c->ctx->rx_ep, EPOLL_CTL_DEL, fd, NULL);
	if (c->in_tx_ep)
		epoll_ctl(c->ctx->tx_ep, EPOLL_CTL_DEL, fd, NULL);
	c->in_rx_ep = c->in_tx_ep = c->tx_want_out = false;
}

/* ---- the send thread --------------------------------------------------- */

static int tx_timeout(const struct ferry_context *ctx, uint64_t now)
{
	if (!ctx->heap_len)
		return WAKE_GUARD_MS;
	uint64_t d = ctx->heap[0]->deadline;
	if (d <= now)
		return 0;
	return d - now > WAKE_GUARD_MS ? WAKE_GUARD_MS : (int)(d - now);
}

/* Takes the clients to serve (into ctx->batch: their tx_next links may be
 * reused by new kicks at once) and to retire out of the shared lists. */
static bool tx_take(struct ferry_context *ctx, struct ferry_client **retire)
{
	ctx->batch_len = 0;
	ferry__lock(&ctx->mu);
	for (struct ferry_client *c = ctx->tx_ready; c; c = c->tx_next) {
		if (ctx->batch_len == ctx->batch_cap) {
			size_t cap = ctx->batch_cap ? ctx->batch_cap * 2 : 64;
			struct ferry_client **nb = realloc(ctx->batch, cap * sizeof *nb);
			if (!nb)
				break; /* the rest stay queued for the next round */
			ctx->batch = nb;
			ctx->batch_cap = cap;
		}
		ctx->batch[ctx->batch_len++] = c;
		c->tx_queued = false;
		ctx->tx_ready = c->tx_next;
	}
	if (!ctx->tx_ready)
		ctx->tx_ready_tail = NULL;
	*retire = ctx->retire_tx;
	ctx->retire_tx = NULL;
	bool stop = ctx->stopping;
	ferry__unlock(&ctx->mu);
	return stop;
}

static void tx_retire(struct ferry_context *ctx, struct ferry_client *list)
{
	while (list) {
		struct ferry_client *c = list;
		list = c->retire_next;
		ferry__ctx_heap_remove(c);
		ferry__lock(&ctx->mu);
		/* A kick may still have c queued: take it out of the ready list. */
		struct ferry_client **pp = &ctx->tx_ready;
		ctx->tx_ready_tail = NULL;
		while (*pp) {
			if (*pp == c)
				*pp = c->tx_next;
			else {
				ctx->tx_ready_tail = *pp;
				pp = &(*pp)->tx_next;
			}
		}
		c->tx_queued = false;
		c->retire_next = ctx->retire_rx;
		ctx->retire_rx = c;
		ferry__unlock(&ctx->mu);
		ferry__wakefd_signal(ctx->rx_wake);
	}
}

static void *tx_main(void *arg)
{
	struct ferry_context *ctx = arg;
	pthread_setname_np(pthread_self(), "ferry-tx"); /* for ps, top, gdb */
	struct epoll_event evs[MAX_EVENTS];
	for (;;) {
		/* Sleep only if nothing is queued; from now on kicks must wake us. */
		ferry__lock(&ctx->mu);
		bool idle = !ctx->tx_ready && !ctx->retire_tx && !ctx->stopping;
		ctx->tx_asleep = idle;
		ferry__unlock(&ctx->mu);
		int n = epoll_wait(ctx->tx_ep, evs, MAX_EVENTS, idle ? tx_timeout(ctx, ferry__now_ms()) : 0);
		uint64_t now = ferry__now_ms();
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				ferry__wakefd_drain(ctx->tx_wake);
			else
				ferry__tx_serve(evs[i].data.ptr, now, true);
		}
		struct ferry_client *retire;
		bool stop = tx_take(ctx, &retire);
		for (size_t i = 0; i < ctx->batch_len; i++)
			ferry__tx_serve(ctx->batch[i], now, false);
		while (ctx->heap_len && ctx->heap[0]->deadline <= now)
			ferry__tx_serve(ctx->heap[0], now, false); /* resets its deadline */
		tx_retire(ctx, retire);
		if (stop)
			return NULL;
	}
}

/* ---- the receive thread ----------------------------------------------- */

static bool rx_take(struct ferry_context *ctx, struct ferry_event **evs,
                    struct ferry_client **retire)
{
	ferry__lock(&ctx->mu);
	*evs = ctx->ev_head;
	ctx->ev_head = ctx->ev_tail = NULL;
	*retire = ctx->retire_rx;
	ctx->retire_rx = NULL;
	bool stop = ctx->stopping && !ctx->retire_tx && !*retire && !*evs;
	ferry__unlock(&ctx->mu);
	return stop;
}

/* Frees what the context owns once both threads are gone. */
static void ctx_release(struct ferry_context *ctx)
{
	close(ctx->tx_ep);
	close(ctx->rx_ep);
	close(ctx->tx_wake);
	close(ctx->rx_wake);
	pthread_mutex_destroy(&ctx->mu);
	free(ctx->heap);
	free(ctx->batch);
	free(ctx->pview);
	free(ctx);
}

static void *rx_main(void *arg)
{
	struct ferry_context *ctx = arg;
	pthread_setname_np(pthread_self(), "ferry-rx");
	struct epoll_event evs[MAX_EVENTS];
	for (;;) {
		ferry__lock(&ctx->mu);
		bool idle = !ctx->ev_head && !ctx->retire_rx && !ctx->stopping;
		ctx->rx_asleep = idle;
		ferry__unlock(&ctx->mu);
		int n = epoll_wait(ctx->rx_ep, evs, MAX_EVENTS, idle ? WAKE_GUARD_MS : 0);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				ferry__wakefd_drain(ctx->rx_wake);
			else
				ferry__rx_readable(evs[i].data.ptr);
		}
		/* Events posted while running events are run in the next round. */
		struct ferry_event *ev;
		struct ferry_client *retire;
		bool stop = rx_take(ctx, &ev, &retire);
		while (ev) {
			struct ferry_event *next = ev->next;
			ferry__rx_run_event(ev);
			ev = next;
		}
		while (retire) {
			struct ferry_client *c = retire;
			retire = c->retire_next;
			ferry__rx_retire(c);
		}
		if (stop)
			break;
	}
	ferry__lock(&ctx->mu);
	bool self_free = ctx->self_free;
	ferry__unlock(&ctx->mu);
	if (self_free) {
		/* The context's only client destroyed itself from a callback:
		 * nobody will join us, so tidy up here. */
		pthread_join(ctx->tx_thread, NULL);
		pthread_detach(pthread_self());
		ctx_release(ctx);
	}
	return NULL;
}

/* ---- create and destroy -------------------------------------------------- */

static int add_wake(int ep, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int ferry__ctx_new(struct ferry_context **out)
{
	struct ferry_context *ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return FERRY_ERR_NOMEM;
	ctx->tx_ep = ctx->rx_ep = ctx->tx_wake = ctx->rx_wake = -1;
	if (pthread_mutex_init(&ctx->mu, NULL)) {
		free(ctx);
		return FERRY_ERR_SYSTEM;
	}
	ctx->tx_ep = epoll_create1(EPOLL_CLOEXEC);
	ctx->rx_ep = epoll_create1(EPOLL_CLOEXEC);
	ctx->tx_wake = ferry__wakefd_open();
	ctx->rx_wake = ferry__wakefd_open();
	if (ctx->tx_ep < 0 || ctx->rx_ep < 0 || ctx->tx_wake < 0 || ctx->rx_wake < 0 ||
	    add_wake(ctx->tx_ep, ctx->tx_wake) || add_wake(ctx->rx_ep, ctx->rx_wake))
		goto fail;
	if (pthread_create(&ctx->tx_thread, NULL, tx_main, ctx))
		goto fail;
	if (pthread_create(&ctx->rx_thread, NULL, rx_main, ctx)) {
		ferry__lock(&ctx->mu);
		ctx->stopping = true;
		ferry__unlock(&ctx->mu);
		ferry__wakefd_signal(ctx->tx_wake);
		pthread_join(ctx->tx_thread, NULL);
		goto fail;
	}
	*out = ctx;
	return FERRY_OK;
fail:
	if (ctx->tx_ep >= 0)
		close(ctx->tx_ep);
	if (ctx->rx_ep >= 0)
		close(ctx->rx_ep);
	if (ctx->tx_wake >= 0)
		close(ctx->tx_wake);
	if (ctx->rx_wake >= 0)
		close(ctx->rx_wake);
	pthread_mutex_destroy(&ctx->mu);
	free(ctx);
	return FERRY_ERR_SYSTEM;
}

static void ctx_stop(struct ferry_context *ctx)
{
	ferry__lock(&ctx->mu);
	ctx->stopping = true;
	ferry__unlock(&ctx->mu);
	ferry__wakefd_signal(ctx->tx_wake);
	ferry__wakefd_signal(ctx->rx_wake);
}

void ferry__ctx_free(struct ferry_context *ctx)
{
	ctx_stop(ctx);
	pthread_join(ctx->tx_thread, NULL);
	ferry__wakefd_signal(ctx->rx_wake);
	pthread_join(ctx->rx_thread, NULL);
	ctx_release(ctx);
}

void ferry__ctx_free_from_rx(struct ferry_context *ctx)
{
	ferry__lock(&ctx->mu);
	ctx->self_free = true;
	ferry__unlock(&ctx->mu);
	ctx_stop(ctx);
}

void ferry__ctx_client_gone(struct ferry_context *ctx, bool own, bool on_rx)
{
	ferry__lock(&ctx->mu);
	ctx->nclients--;
	ferry__unlock(&ctx->mu);
	if (!own)
		return;
	if (on_rx)
		ferry__ctx_free_from_rx(ctx);
	else
		ferry__ctx_free(ctx);
}

int ferry_context_create(const struct ferry_context_options *opts, ferry_context **out)
{
	if (!out || (opts && opts->struct_size < sizeof(size_t)))
		return FERRY_ERR_INVAL;
	return ferry__ctx_new(out);
}

int ferry_context_destroy(ferry_context *ctx)
{
	if (!ctx)
		return FERRY_ERR_INVAL;
	if (ferry__ctx_on_own_thread(ctx))
		return FERRY_ERR_IN_CALLBACK;
	ferry__lock(&ctx->mu);
	size_t n = ctx->nclients;
	ferry__unlock(&ctx->mu);
	if (n)
		return FERRY_ERR_STATE;
	ferry__ctx_free(ctx);
	return FERRY_OK;
}
