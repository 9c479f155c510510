/*
 * client_conn.c - tearing a connection down, from either thread, and the
 * step that follows (see ferry__conn_fail_locked in engine.h).
 *
 * Connection states (enum ferry_conn_state) and who moves them:
 *   IDLE -> START               ferry_connect (app thread)
 *   START -> DNS                tx: name lookup started (non-numeric host)
 *   START | DNS -> TCP          tx: connect() started
 *   TCP -> CONNACK              tx: TCP up, CONNECT written
 *   CONNACK -> CONNECTED        rx: CONNACK accepted
 *   CONNECTED -> DRAINING       ferry_disconnect
 *   any but IDLE -> CLOSING     ferry__conn_fail_locked (either thread)
 *   CLOSING -> START | BACKOFF | IDLE   when the fd is closed (close_now_locked):
 *                               START for the next server of a failed attempt,
 *                               BACKOFF to wait before the next round (auto-
 *                               reconnect), IDLE otherwise
 *   BACKOFF -> START            tx: deadline_retry passed, or ferry_connect
 *   BACKOFF -> IDLE             ferry_disconnect
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine.h"
#include "platform.h"

static void complete_locked(struct ferry_client *c, struct ferry_req *r, int rc)
{
	ferry__req_done_locked(r, rc);
	ferry__ctx_post(c->ctx, &r->ev);
}

static void post_lost(struct ferry_client *c, int cause, const char *text)
{
	struct ferry_event *ev = calloc(1, sizeof *ev);
	if (!ev)
		return; /* the callback is skipped; the state is still right */
	ev->kind = FERRY_EV_LOST;
	ev->c = c;
	ev->cause = cause;
	snprintf(ev->text, sizeof ev->text, "%s", text);
	ferry__ctx_post(c->ctx, ev);
}

static bool connecting(int state)
{
	return state == FERRY_CS_START || state == FERRY_CS_DNS || state == FERRY_CS_TCP ||
	       state == FERRY_CS_HANDSHAKE || state == FERRY_CS_CONNACK;
}

/* Refusals that retrying soon will not fix: credentials, authorisation, bans. */
static bool refusal_is_final(int version, int reason)
{
	if (version < 5)
		return reason == 4 || reason == 5;
	return reason == 0x86 || reason == 0x87 || reason == 0x8A || reason == 0x8C;
}

static uint64_t next_random(struct ferry_client *c)
{
	uint64_t x = c->rng; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	c->rng = x;
	return x;
}

/* Waits before the next round of servers (c->mu held). */
static void schedule_retry(struct ferry_client *c, uint64_t now, bool hard)
{
	uint64_t delay = ferry__backoff_next(&c->backoff, next_random(c), hard);
	c->state = FERRY_CS_BACKOFF;
	c->server = 0;
	c->deadline_retry = now + delay;
	ferry__log(c, FERRY_LOG_INFO, "reconnecting in %llu ms (attempt %u)",
	           (unsigned long long)delay, c->backoff.attempt);
	ferry__ctx_kick_tx(c);
}

/* Posts the takeover callback's event (c->mu held). */
static void post_takeover(struct ferry_client *c)
{
	c->stats.takeovers++;
	c->takeover_hard = true;
	struct ferry_event *ev = calloc(1, sizeof *ev);
	if (!ev)
		return;
	ev->kind = FERRY_EV_TAKEOVER;
	ev->c = c;
	ev->cause = c->short_lived > 0 ? c->short_lived : 1;
	ferry__ctx_post(c->ctx, ev);
}

/* A connection attempt failed (c->mu held). */
static void attempt_failed(struct ferry_client *c, int cause, uint64_t now)
{
	c->attempt_failed_since_end = true;
	c->attempt_rc = cause;
	ferry__log(c, FERRY_LOG_WARNING, "connect to %s failed: %s", c->servers[c->server].text,
	           c->close_text);
	if (c->server + 1 < c->nservers) {
		c->server++;
		c->state = FERRY_CS_START;
		ferry__ctx_kick_tx(c);
		return;
	}
	bool refused = cause == FERRY_ERR_CONNECT_REFUSED && refusal_is_final(c->version, c->refused_reason);
	bool stop = !c->cb.auto_reconnect || (refused && c->cb.refused_policy == FERRY_REFUSED_STOP);
	if (c->connect_req) {
		struct ferry_req *r = c->connect_req;
		c->connect_req = NULL;
		complete_locked(c, r, c->attempt_rc);
	} else if (stop) {
		post_lost(c, cause, c->close_text); /* reconnecting gave up: say why */
	}
	if (!stop)
		schedule_retry(c, now, refused || c->takeover_hard);
}

/*
 * An accepted connection ended (c->mu held).
 *
 * Takeover: two clients with one id take turns, each connect making the
 * broker drop the other. Seen from one of them: the broker closes the
 * connection (not a keepalive or protocol failure of ours) within
 * stable_ms + max_ms of CONNACK, and the very next attempt succeeds (the
 * broker is fine) - three times in a row. A broker restart usually breaks
 * the streak with a refused attempt. MQTT 5 says so outright (0x8E).
 */
static void connection_ended(struct ferry_client *c, int cause, uint64_t now)
{
	ferry__backoff_connection_ended(&c->backoff, c->connected_at, now);
	uint64_t lived = now - c->connected_at;
	bool kicked = (cause == FERRY_ERR_CLOSED || cause == FERRY_ERR_IO) &&
	              lived < c->backoff.stable_ms + c->backoff.max_ms;
	if (!kicked && cause != FERRY_ERR_TAKEOVER) {
		c->short_lived = 0;
		c->takeover_hard = false;
	} else if (kicked) {
		c->short_lived = c->attempt_failed_since_end ? 1 : c->short_lived + 1;
	}
	c->attempt_failed_since_end = false;
	bool takeover = cause == FERRY_ERR_TAKEOVER || (kicked && c->short_lived == 3);
	post_lost(c, cause, c->close_text);
	if (takeover)
		post_takeover(c);
	if (c->cb.auto_reconnect)
		schedule_retry(c, now, c->takeover_hard);
}

/* The fd is gone: decide what comes next (c->mu held). */
static void close_now_locked(struct ferry_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ferry__link_free(c->link);
	c->link = NULL;
	ferry__resolve_release(c->dns);
	c->dns = NULL;
	c->gen++;
	c->ping_outstanding = false;
	ferry__buf_clear(&c->ctrl);
	c->aborting = false;
	int prev = c->close_prev, cause = c->close_cause;
	c->state = FERRY_CS_IDLE;
	if (c->destroying)
		return;
	if (c->auth_req) { /* a re-authentication ends with its connection */
		struct ferry_req *r = c->auth_req;
		c->auth_req = NULL;
		complete_locked(c, r, cause ? cause : FERRY_ERR_NOT_CONNECTED);
	}
	uint64_t now = ferry__now_ms();
	if (c->disconnect_req) {
		/* Disconnecting: no reconnect; a pending connect is cancelled. */
		if (c->connect_req) {
			struct ferry_req *r = c->connect_req;
			c->connect_req = NULL;
			complete_locked(c, r, FERRY_ERR_CANCELLED);
		}
		struct ferry_req *r = c->disconnect_req;
		c->disconnect_req = NULL;
		complete_locked(c, r, FERRY_OK);
		return;
	}
	if (connecting(prev))
		attempt_failed(c, cause, now);
	else if (prev == FERRY_CS_CONNECTED || prev == FERRY_CS_DRAINING)
		connection_ended(c, cause, now);
}

void ferry__conn_fail_locked(struct ferry_client *c, int cause, const char *text)
{
	if (c->state == FERRY_CS_IDLE || c->state == FERRY_CS_CLOSING)
		return;
	c->close_prev = c->state;
	c->close_cause = cause;
	snprintf(c->close_text, sizeof c->close_text, "%s", text ? text : ferry_strerror(cause));
	c->state = FERRY_CS_CLOSING;
	if (c->fd >= 0) {
		shutdown(c->fd, SHUT_RDWR);
		ferry__ctx_unwatch(c, c->fd);
	}
	if (c->fd_users == 0)
		close_now_locked(c);
}

void ferry__conn_release_fd_locked(struct ferry_client *c)
{
	c->fd_users--;
	if (c->fd_users == 0 && c->state == FERRY_CS_CLOSING)
		close_now_locked(c);
}
