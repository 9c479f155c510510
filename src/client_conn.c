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
 *   CLOSING -> START | IDLE     when the fd is closed (close_now_locked):
 *                               START for the next server of a failed
 *                               attempt, IDLE otherwise
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
	       state == FERRY_CS_CONNACK;
}

/* The fd is gone: decide what comes next (c->mu held). */
static void close_now_locked(struct ferry_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ferry__resolve_release(c->dns);
	c->dns = NULL;
	c->gen++;
	c->ping_outstanding = false;
	ferry__buf_clear(&c->ctrl);
	int prev = c->close_prev, cause = c->close_cause;
	c->state = FERRY_CS_IDLE;
	if (c->destroying)
		return;
	if (connecting(prev)) {
		if (cause != FERRY_ERR_CANCELLED) {
			c->attempt_rc = cause;
			memcpy(c->attempt_text, c->close_text, sizeof c->attempt_text);
			ferry__log(c, FERRY_LOG_WARNING, "connect to %s failed: %s",
			           c->servers[c->server].text, c->close_text);
			if (c->server + 1 < c->nservers) {
				c->server++;
				c->state = FERRY_CS_START;
				ferry__ctx_kick_tx(c);
				return;
			}
		}
		if (c->connect_req) {
			struct ferry_req *r = c->connect_req;
			c->connect_req = NULL;
			complete_locked(c, r, cause == FERRY_ERR_CANCELLED ? cause : c->attempt_rc);
		}
	}
	if (c->disconnect_req) {
		struct ferry_req *r = c->disconnect_req;
		c->disconnect_req = NULL;
		complete_locked(c, r, FERRY_OK);
		return;
	}
	if (prev == FERRY_CS_CONNECTED || prev == FERRY_CS_DRAINING)
		post_lost(c, cause, c->close_text);
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
