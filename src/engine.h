/*
 * engine.h - the engine's internal structures: contexts (threads, epoll,
 * timers, dispatch) and clients (connection, session, callbacks).
 *
 * Threads and ownership (see doc/architecture.md):
 *  - A context runs one send thread (tx) and one receive thread (rx).
 *  - Only rx reads sockets; only tx writes them and makes connections.
 *  - Every user callback runs on rx, with no internal lock held. Work that tx
 *    or an application thread wants a callback for is posted as an event to
 *    the context's dispatch queue and run by rx in order.
 *  - Lock order: ctx->mu is never held while taking c->mu... except where
 *    noted; c->mu may be held while taking ctx->mu (to queue work). No lock is
 *    held across I/O or callbacks.
 *  - A socket is closed only when no thread is using it outside the lock
 *    (c->fd_users == 0); whichever thread leaves it last closes it.
 *  - A client is freed only after tx and then rx have both let go of it
 *    (the retire hand-off: app -> tx -> rx).
 *
 * Each field says which lock guards it ([c] client lock, [ctx] context lock)
 * or which thread owns it ([tx], [rx]), or [const] after create.
 */
#ifndef FERRY_ENGINE_H
#define FERRY_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "buf.h"
#include "codec.h"
#include "ferry/ferry.h"
#include "frame.h"
#include "link.h"
#include "resolve.h"
#include "session.h"
#include "tokens.h"
#include "topic_index.h"
#include "uri.h"

/* ---- events run by the receive thread ---------------------------------- */

enum ferry_ev_kind {
	FERRY_EV_OP_DONE = 1, /* complete a request (callbacks, free) */
	FERRY_EV_LOST,        /* connection lost callback */
	FERRY_EV_TAKEOVER,    /* client-id takeover callback (cause = count) */
	FERRY_EV_LOG,         /* log callback (struct ferry_log_event) */
};

struct ferry_event {
	struct ferry_event *next;
	struct ferry_client *c;
	uint8_t kind;
	int cause;      /* FERRY_EV_LOST */
	char text[160]; /* FERRY_EV_LOST */
};

/* A log line on its way to on_log (allocated with its text). */
struct ferry_log_event {
	struct ferry_event ev;
	int level;
	char text[];
};

/* ---- requests: one per asynchronous operation ------------------------------ */

/* A subscription the client holds: its filter, QoS and optional message
 * callback. Owned by the client (freed at UNSUBACK, refusal or destroy);
 * the subscription index maps filters to these. Used to route messages
 * and to subscribe again when the broker lost the session. */
struct ferry_sub_cb {
	ferry_message_cb fn;              /* NULL: the client-wide callback */
	void *user;
	uint8_t qos;
	struct ferry_sub_cb *prev, *next; /* [c] c->sub_cbs */
	size_t filter_len;
	char filter[];                    /* NUL-terminated copy */
};

struct ferry_req {
	struct ferry_op op;       /* the session's view (op.owner == this) */
	struct ferry_event ev;    /* to post the completion to rx */
	struct ferry_client *c;
	int type;                 /* enum ferry_op_type */
	struct ferry_call call;
	int rc;                   /* result, set before completion */
	int reason;               /* broker reason code or -1 */
	size_t server;            /* index of the server when it completed (c->mu held then) */
	bool session_present;     /* CONNECT */
	bool retain;              /* PUBLISH */
	uint8_t *topic;           /* PUBLISH: NUL-terminated copy (in the same allocation) */
	size_t topic_len;
	uint8_t *payload;
	size_t payload_len;
	size_t nfilters;                 /* SUBSCRIBE / UNSUBSCRIBE */
	struct ferry_sub_entry *entries; /* SUBSCRIBE (filters copied in the same allocation) */
	struct ferry_bytes *filters;     /* UNSUBSCRIBE */
	uint64_t end_seq;                /* QoS 0 PUBLISH: tx byte count at its end in wbuf */
	bool stored;                     /* QoS 1/2 PUBLISH kept in c->store */
	bool restored;                   /* ... by a previous run (no per-call callback) */
	uint8_t store_state;             /* [tx] the state last recorded in the store */
	uint16_t store_pid;              /* [tx] ... and its packet id */
	uint8_t *granted;                /* SUBACK / UNSUBACK codes (owned) */
	size_t granted_count;
};

/* ---- the client ------------------------------------------------------------ */

enum ferry_conn_state {
	FERRY_CS_IDLE = 0,    /* no connection and not trying */
	FERRY_CS_START,       /* tx must start connecting to servers[server] */
	FERRY_CS_DNS,         /* name resolution in progress (c->dns) */
	FERRY_CS_TCP,         /* TCP connect in progress */
	FERRY_CS_HANDSHAKE,   /* proxy tunnel, TLS, WebSocket upgrade in progress (c->link) */
	FERRY_CS_CONNACK,     /* CONNECT sent, awaiting CONNACK */
	FERRY_CS_CONNECTED,   /* accepted */
	FERRY_CS_DRAINING,    /* disconnect: waiting for in-flight ops, then DISCONNECT */
	FERRY_CS_BACKOFF,     /* waiting deadline_retry before the next round of servers */
	FERRY_CS_CLOSING,     /* torn down; the fd closes when no thread uses it */
};

struct ferry_server {
	char *text;        /* the URI as given */
	struct ferry_uri uri;
};

struct ferry_client {
	struct ferry_context *ctx; /* [const] */
	bool own_ctx;              /* [const] */
	pthread_mutex_t mu;
	pthread_cond_t cv;         /* [c] signalled when a request completes or retire ends */
	int waiters;               /* [c] threads waiting on cv (ferry_wait) */

	/* configuration [const] */
	char *client_id;
	struct ferry_server *servers;
	size_t nservers;
	uint8_t version;
	uint16_t keepalive_s;
	uint32_t ping_timeout_ms;
	bool clean_session;
	char *username;
	uint8_t *password;
	size_t password_len;
	bool has_password;
	bool has_will;
	struct ferry_will_options will; /* topic and payload copied */
	uint32_t connect_timeout_ms;
	uint16_t max_inflight;
	struct ferry_link_cfg link_cfg; /* TLS context, proxy credentials, WebSocket headers */
	char *proxy_host;               /* NULL: connect to the servers directly */
	uint16_t proxy_port;
	char **ws_headers;              /* copies of the options' (link_cfg points here) */
	struct ferry_client_options cb; /* callbacks, user pointer, policies */

	/* durable store (client_store.c) */
	struct ferry_store *store;      /* [const] NULL: nothing outlives the process */
	uint64_t restore_next;          /* [tx] queued rows up to this token are loaded */
	uint64_t restore_end;           /* [const] tokens up to this were stored by earlier runs */
	bool restore_done;              /* [c] every queued row of earlier runs is loaded */
	struct ferry_store_change *tx_changes; /* [tx] state changes to commit before writing */
	size_t tx_nchanges, tx_capchanges;
	bool store_resync;              /* [tx] the last commit failed: record every send again */
	struct ferry_store_change *pending; /* [c] changes that may wait: removals of completed
	                                       messages, SENT of QoS 1 ones */
	size_t npending, cappending;
	bool pending_busy;              /* [c] a thread is committing a batch (others wait on cv) */

	/* session and requests [c] */
	struct ferry_session *session;
	struct ferry_topic_index *subs; /* filter -> struct ferry_sub_cb* */
	struct ferry_sub_cb *sub_cbs;   /* every record in subs, for freeing */
	size_t sub_fns;                 /* records with a callback: 0 skips matching */
	struct ferry_tokens tokens;
	uint64_t next_token;
	struct ferry_req *connect_req;  /* pending ferry_connect */
	struct ferry_req *disconnect_req;

	/* connection [c] */
	int state;                   /* enum ferry_conn_state */
	int fd;                      /* -1 when none */
	int fd_users;                /* threads using fd (and link) outside the lock */
	struct ferry_link *link;     /* the fd's layers; freed with the fd */
	bool in_rx_ep, in_tx_ep;
	bool tx_want_out;            /* EPOLLOUT armed in the tx set */
	size_t server;               /* index being tried / connected */
	struct ferry_resolve *dns;   /* lookup in progress, NULL when none */
	int attempt_rc;              /* the latest connect failure */
	int close_prev;              /* state before CLOSING */
	int close_cause;             /* why it is closing */
	char close_text[160];
	uint32_t gen;                /* connection generation: tx and rx reset their buffers when it moves */
	uint64_t deadline_connect;   /* ms: connect attempt or drain end */
	bool connected_once;
	struct ferry_buf ctrl;       /* acks and PINGREQs queued for tx */

	/* staying connected [c] */
	struct ferry_backoff backoff;
	uint64_t rng;                /* xorshift state for the jitter */
	uint64_t connected_at;       /* when the current connection was accepted */
	uint64_t deadline_retry;     /* BACKOFF: when the next round starts */
	uint64_t deadline_drain;     /* DRAINING: when a DISCONNECT not yet written is given up */
	int short_lived;             /* takeover streak: connections in a row the broker dropped */
	bool attempt_failed_since_end; /* an attempt failed since the last connection ended */
	bool takeover_hard;          /* a takeover was seen: back off at the maximum */
	int refused_reason;          /* reason of the latest CONNACK refusal, -1 none */

	/* keepalive [c] */
	uint16_t keepalive_eff;      /* in force: ours, or the server's (MQTT 5 Server Keep Alive) */
	uint32_t server_max_packet;  /* MQTT 5 Maximum Packet Size of the broker, 0 = none */
	uint8_t server_max_qos;      /* MQTT 5 Maximum QoS (2 when not said) */
	bool server_no_retain;       /* MQTT 5 Retain Available = 0 */
	char *assigned_id;           /* MQTT 5 Assigned Client Identifier of the latest CONNACK */
	uint64_t last_sent, last_received, ping_sent_at;
	bool ping_outstanding;

	/* statistics [c] */
	struct ferry_stats stats;

	/* send thread [tx] */
	uint32_t tx_gen;             /* generation wbuf belongs to */
	bool tx_close_after_flush;   /* DISCONNECT queued: close once written */
	struct ferry_buf wbuf;       /* encoded bytes waiting to be written */
	struct ferry_req *written_q0;    /* QoS 0 publishes in wbuf (linked by op.next), */
	struct ferry_req *written_q0_last; /* completed once written */
	uint64_t tx_appended;        /* bytes ever appended to wbuf */
	uint64_t tx_written;         /* bytes ever written from wbuf */
	uint64_t deadline;           /* timer heap key */
	size_t heap_idx;             /* position in ctx->heap, SIZE_MAX if absent */
	bool tx_queued;              /* [ctx] in ctx's tx ready list */
	bool retiring;               /* [ctx] being destroyed: kicks are ignored */
	struct ferry_client *tx_next;   /* [ctx] */

	/* receive thread [rx] */
	struct ferry_frame_reader reader;
	uint32_t rx_gen;             /* generation the reader belongs to */
	bool rx_kick;                /* tx has work from this read batch: kick once at its end */
	struct ferry_req *rx_done, *rx_done_tail; /* stored publishes completed in this read batch:
	                                             finished once their rows are removed */

	/* destruction [c] */
	bool destroying;
	bool retired;                /* rx let go: the destroyer may free */
	bool free_on_retire;         /* destroyed from a callback: rx frees it */
	struct ferry_client *retire_next; /* [ctx] */
};

/* ---- the context ----------------------------------------------------------- */

struct ferry_context {
	pthread_t tx_thread, rx_thread; /* [const] */
	int tx_ep, rx_ep;               /* epoll sets [const] */
	int tx_wake, rx_wake;           /* eventfds [const] */
	pthread_mutex_t mu;
	size_t nclients;                /* [ctx] */
	bool stopping;                  /* [ctx] */
	bool self_free;                 /* [ctx] rx frees the context when it stops */
	bool tx_asleep, rx_asleep;      /* [ctx] in (or about to enter) epoll_wait with nothing
	                                   queued: only then do kicks and posts write the eventfd */
	struct ferry_client *tx_ready, *tx_ready_tail; /* [ctx] clients tx must serve */
	struct ferry_event *ev_head, *ev_tail;         /* [ctx] events rx must run */
	struct ferry_client *retire_tx;                /* [ctx] clients tx must let go of */
	struct ferry_client *retire_rx;                /* [ctx] ... then rx */
	struct ferry_client **batch;    /* [tx] clients taken from tx_ready this round */
	size_t batch_len, batch_cap;    /* [tx] */
	struct ferry_client **heap;     /* [tx] timer heap ordered by deadline */
	size_t heap_len, heap_cap;      /* [tx] */
	uint8_t rbuf[65536];            /* [rx] socket read buffer */
	char topic[65536];              /* [rx] NUL-terminated topic of the message being delivered */
	struct ferry_sub_cb *match[64]; /* [rx] callbacks matching the message being delivered */
};

/* context.c */
int ferry__ctx_new(struct ferry_context **out);
/* Stop and free (the caller is not a ferry thread of this context). */
void ferry__ctx_free(struct ferry_context *ctx);
/* Called on rx when a client that owned its context was destroyed from a
 * callback: stop both threads; rx frees the context on its way out. */
void ferry__ctx_free_from_rx(struct ferry_context *ctx);
/* A client of ctx was freed: count it out, and free ctx if the client owned it
 * (on_rx: we are ctx's receive thread). */
void ferry__ctx_client_gone(struct ferry_context *ctx, bool own, bool on_rx);
bool ferry__ctx_on_rx_thread(const struct ferry_context *ctx);
bool ferry__ctx_on_own_thread(const struct ferry_context *ctx);
/* Ask tx to serve c soon (any thread; takes ctx->mu). */
void ferry__ctx_kick_tx(struct ferry_client *c);
/* Queue an event for rx (any thread; takes ctx->mu). */
void ferry__ctx_post(struct ferry_context *ctx, struct ferry_event *ev);
/* Queue a chain of events (linked by ->next, ending at tail) at once. */
void ferry__ctx_post_chain(struct ferry_context *ctx, struct ferry_event *head,
                           struct ferry_event *tail);
/* Start retiring c: tx lets go, then rx (any thread; takes ctx->mu). */
void ferry__ctx_retire(struct ferry_client *c);
/* Register or update c's fd in an epoll set (EPOLLIN for rx, EPOLLOUT or none for tx). */
int ferry__ctx_watch_rx(struct ferry_client *c, int fd);
int ferry__ctx_watch_tx(struct ferry_client *c, int fd, bool want_out, bool want_in);
void ferry__ctx_unwatch(struct ferry_client *c, int fd);
/* tx only: (re)place c in the timer heap at c->deadline. */
void ferry__ctx_heap_update(struct ferry_client *c);
void ferry__ctx_heap_remove(struct ferry_client *c);

/* client_tx.c: send-thread work for one client (tx only). */
void ferry__tx_serve(struct ferry_client *c, uint64_t now, bool writable);

/* client_rx.c: receive-thread work (rx only). */
void ferry__rx_readable(struct ferry_client *c);
void ferry__rx_run_event(struct ferry_event *ev);
/* Final step of destroy on rx: cancel everything, free or hand to the destroyer. */
void ferry__rx_retire(struct ferry_client *c);

/* client_conn.c: connection teardown shared by both threads. */
/*
 * Tear down the connection with a cause (c->mu held; any thread). The socket
 * is shut down and unwatched at once and closed when no thread uses it; then
 * the next step is taken: the next server of a connect attempt, or the
 * completion of connect/disconnect, or a connection-lost event (cause
 * FERRY_OK means a clean disconnect). A failure while already closing keeps
 * the first cause.
 */
void ferry__conn_fail_locked(struct ferry_client *c, int cause, const char *text);
/* After using the fd outside the lock: decrement fd_users and close if due (c->mu held). */
void ferry__conn_release_fd_locked(struct ferry_client *c);

/* client.c: completing requests. */
/* Complete req with rc (c->mu held): records the token result, unlinks it.
 * The callbacks run later from ferry__req_finish on rx. */
void ferry__req_done_locked(struct ferry_req *req, int rc);
/* Run req's callbacks and free it (rx thread, no lock held). */
void ferry__req_finish(struct ferry_req *req);
void ferry__req_free(struct ferry_req *req);
/* A PUBLISH request with copies of topic and payload (no token yet), or NULL. */
struct ferry_req *ferry__req_publish_new(struct ferry_client *c, const void *topic, size_t tlen,
                                        const void *payload, size_t len, uint8_t qos,
                                        bool retain, const struct ferry_call *call);
void ferry__client_free(struct ferry_client *c);
/* Record (or update) a subscription: filter, QoS and callback (c->mu held). */
int ferry__set_sub_cb_locked(struct ferry_client *c, struct ferry_bytes filter, uint8_t qos,
                             ferry_message_cb fn, void *user);
/* Remove the per-subscription callback of a filter, if any (c->mu held). */
void ferry__drop_sub_cb_locked(struct ferry_client *c, struct ferry_bytes filter);
void ferry__log(struct ferry_client *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* client_store.c: the client's use of its durable store (doc/durability.md).
 * Store calls are made with no client lock held unless noted. */
/* At create: take or make the store, open it for the client id, restore what
 * was in flight (and the inbound QoS 2 ids and the subscriptions); the
 * queued rows are left to ferry__store_load. No lock needed (not shared yet). */
int ferry__store_attach(struct ferry_client *c, const struct ferry_client_options *o);
/* Commit n new QoS 1/2 publishes (their tokens assigned) before they are queued. */
int ferry__store_put(struct ferry_client *c, struct ferry_req *const *reqs, size_t n);
/* tx, c->mu held: whether queued rows of earlier runs must be loaded before
 * the outbox head may be sent. */
bool ferry__store_need_load_locked(struct ferry_client *c);
/* tx, c->mu held on entry and exit (dropped inside): load the next batch of
 * queued rows into the outbox, in order. */
void ferry__store_load_locked(struct ferry_client *c);
/* tx, c->mu held: packet `what` of op is about to be encoded: note the state
 * change the store must record before the bytes are written. */
int ferry__store_note_send_locked(struct ferry_client *c, int what, struct ferry_op *op);
/* tx, no lock: commit the noted changes. */
int ferry__store_commit_changes(struct ferry_client *c);
/* c->mu held: a stored publish completed (not cancelled): remove it soon. */
void ferry__store_completed_locked(struct ferry_client *c, struct ferry_req *r);
/* No lock: commit the pending changes (removals, QoS 1 progress); returns
 * once every commit of them started before the call (by any thread) is done. */
void ferry__store_flush_acked(struct ferry_client *c);
/* rx, no lock: inbound QoS 2 ids, subscriptions. Failures are logged and counted. */
/* Inbound QoS 2 id `id`: held (released false: before delivery) or released
 * (at PUBREL, before PUBCOMP), with the session's mark of the message. */
void ferry__store_qos2(struct ferry_client *c, uint16_t id, uint32_t mark, bool released);
void ferry__store_qos2_clear(struct ferry_client *c);
void ferry__store_sub(struct ferry_client *c, struct ferry_bytes filter, uint8_t options, bool add);
void ferry__store_free(struct ferry_client *c);

#endif
