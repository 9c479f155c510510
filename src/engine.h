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
	uint8_t qos;                      /* the subscription options byte (QoS and MQTT 5 options) */
	bool granted;                     /* the broker granted it (SUBACK, or an earlier run's store) */
	uint32_t sub_id;                  /* MQTT 5 Subscription Identifier it was made with, 0 = none
	                                     (kept in memory for resubscribing; the store keeps none) */
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
	/* MQTT 5 (client_mqtt5.c) */
	struct ferry_props props;        /* properties to send (views into props_mem) */
	void *props_mem;                 /* owned */
	uint8_t *props_block;            /* PUBLISH: the properties as encoded, for the store (owned) */
	size_t props_block_len;
	uint64_t queued_at;              /* PUBLISH with a Message Expiry: accepted at (ms) */
	uint64_t waiter;                 /* PUBLISH of ferry_request: the request's token */
	uint64_t deadline;               /* REQUEST: when it times out (UINT64_MAX: never) */
	bool issuing;                    /* REQUEST: ferry_request is still issuing it */
	int issue_rc;                    /* REQUEST: its publish failed meanwhile */
	uint8_t corr[16];                /* REQUEST: its Correlation Data */
	uint8_t reason_out;              /* DISCONNECT: the reason code to send */
	struct ferry_properties *rprops; /* the broker's answer's properties (owned view) */
	const struct ferry_message *response; /* REQUEST: during its completion callback */
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

	/* MQTT 5 (client_mqtt5.c) */
	struct ferry_props connect_props; /* [const] CONNECT properties (views into the mem) */
	void *connect_props_mem;
	struct ferry_props will_props;   /* [const] */
	void *will_props_mem;
	uint16_t recv_max;               /* [const] our Receive Maximum */
	uint32_t in_max_packet;          /* [const] our Maximum Packet Size, 0 = none */
	uint16_t alias_in_max;           /* [const] our Topic Alias Maximum */
	struct ferry_bytes *alias_in;    /* [rx] alias -> topic (owned copies), alias_in_max + 1 */
	uint32_t alias_in_gen;           /* [rx] connection the map belongs to */
	uint16_t alias_out_max;          /* [c] aliases ferry uses on this connection (auto_topic_alias) */
	struct ferry_alias_out *alias_out; /* [tx] alias - 1 -> topic */
	uint16_t alias_out_used, alias_out_next; /* [tx] */
	uint32_t alias_out_gen;          /* [tx] */
	bool server_no_wildcard, server_no_shared, server_no_subid; /* [c] CONNACK said so */
	struct ferry_req *auth_req;      /* [c] ferry_reauthenticate in progress */
	struct ferry_req *requests;      /* [c] ferry_request waiting for responses (op.next) */
	size_t nrequests;                /* [c] */
	uint64_t corr_salt;              /* [const] first half of every Correlation Data */
	char **resp_topics;              /* [c] response topics subscribed by ferry_request */
	size_t nresp_topics;
	bool aborting;                   /* [c] a DISCONNECT with a reason is queued: close once written */
	int abort_cause;                 /* [c] */
	char abort_text[160];            /* [c] */

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
	void *pview;                    /* [rx] scratch for the view of received properties */
	size_t pview_cap;
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
/*
 * ferry__packet_append - encodes p (c->version) at the end of b and counts
 * it in c->stats.packets_sent; *len is its size. max: 0, or the largest
 * size allowed (FERRY_ERR_PACKET_TOO_LARGE above it, nothing appended).
 * The caller owns b's lock (c->mu for c->ctrl; tx for c->wbuf).
 */
int ferry__packet_append(struct ferry_client *c, struct ferry_buf *b, const struct ferry_packet *p,
                         size_t max, size_t *len);

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
/* A request of `type` with `extra` bytes after it for its data (not issued yet), or NULL. */
struct ferry_req *ferry__req_new(struct ferry_client *c, int type, size_t extra,
                                 const struct ferry_call *call);
/* Queue a SUBSCRIBE or UNSUBSCRIBE request and wake tx; takes r (freed on failure). */
int ferry__req_submit(struct ferry_client *c, struct ferry_req *r, ferry_token *token);
/* Run req's callbacks and free it (rx thread, no lock held). */
void ferry__req_finish(struct ferry_req *req);
void ferry__req_free(struct ferry_req *req);
/* A PUBLISH request with copies of topic and payload (no token yet), or NULL. */
struct ferry_req *ferry__req_publish_new(struct ferry_client *c, const void *topic, size_t tlen,
                                        const void *payload, size_t len, uint8_t qos,
                                        bool retain, const struct ferry_call *call);
void ferry__client_free(struct ferry_client *c);
/* Record (or update) a subscription: filter, options byte, MQTT 5 Subscription
 * Identifier (0: none) and callback (c->mu held). */
int ferry__set_sub_cb_locked(struct ferry_client *c, struct ferry_bytes filter, uint8_t qos,
                             uint32_t sub_id, ferry_message_cb fn, void *user);
/* The broker granted the subscription to filter (c->mu held). */
void ferry__sub_granted_locked(struct ferry_client *c, struct ferry_bytes filter);
/* Remove the per-subscription callback of a filter, if any (c->mu held). */
void ferry__drop_sub_cb_locked(struct ferry_client *c, struct ferry_bytes filter);
void ferry__log(struct ferry_client *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* client_mqtt5.c: MQTT 5 features. */
/* One alias ferry gave a topic (auto_topic_alias). */
struct ferry_alias_out {
	uint64_t hash;
	size_t len;
	char *topic;
};
/* At create: the CONNECT and will properties of the options. */
int ferry__mqtt5_setup(struct ferry_client *c, const struct ferry_client_options *o);
void ferry__mqtt5_free(struct ferry_client *c);
/* A request's properties from the application (ctx: packet type or FERRY_PCTX_WILL);
 * FERRY_ERR_UNSUPPORTED on a 3.x client. PUBLISH: also its encoded block for the store. */
int ferry__req_set_props(struct ferry_req *r, const struct ferry_properties *p, int ctx);
/* A restored publish's properties from the store's block. */
int ferry__req_props_from_block(struct ferry_req *r, const void *block, size_t len);
/* tx, c->mu held: the properties of a PUBLISH about to be encoded into *out
 * (Message Expiry counted down, a topic alias chosen); *topic may become
 * empty. FERRY_ERR_EXPIRED when it expired before its first sending. */
int ferry__mqtt5_publish_props(struct ferry_client *c, struct ferry_req *r, uint64_t now,
                               struct ferry_props *out, struct ferry_bytes *topic);
/* tx, c->mu held: a SUBSCRIBE the broker said it cannot take (FERRY_ERR_SUB_NOT_SUPPORTED). */
int ferry__mqtt5_subscribe_check(const struct ferry_client *c, const struct ferry_req *r);
/* tx, c->mu held: a PUBLISH that named `alias` was not sent after all. */
void ferry__mqtt5_alias_forget(struct ferry_client *c, uint16_t alias);
/* tx, c->mu held: a new connection, aliases start afresh. */
void ferry__mqtt5_tx_reset(struct ferry_client *c);
/* tx, c->mu held: requests that timed out are completed into the chain head..tail
 * (events); *deadline lowered to the next timeout. */
void ferry__mqtt5_timeouts_locked(struct ferry_client *c, uint64_t now, uint64_t *deadline,
                                  struct ferry_event **head, struct ferry_event **tail);
/* c->mu held: the publish of a request failed: complete the request too. */
void ferry__mqtt5_request_failed_locked(struct ferry_client *c, struct ferry_req *pub, int rc);
/* client.c: the publish of a ferry_request (no callback of its own). */
int ferry__publish_for_request(struct ferry_client *c, const struct ferry_publish_msg *m,
                               uint64_t waiter);
/* rx, at destroy: every request still waiting completes as cancelled. */
void ferry__mqtt5_cancel_requests(struct ferry_client *c);
/* rx: resolve an inbound topic alias in p (topic filled in). FERRY_OK, or the
 * DISCONNECT reason to close with (0x82 / 0x94) and *text. */
int ferry__mqtt5_alias_in(struct ferry_client *c, struct ferry_publish *p, char *text, size_t cap);
/* rx: a message that answers a ferry_request: completes it and returns true. */
bool ferry__mqtt5_response(struct ferry_client *c, const struct ferry_publish *p,
                           const struct ferry_message *m);
/* rx: an AUTH from the broker. */
void ferry__mqtt5_on_auth(struct ferry_client *c, const struct ferry_disconnect *a);
/* rx: the public view of received properties, in the context's scratch
 * memory (valid until the next call), or NULL when there are none. */
const struct ferry_properties *ferry__rx_props_view(struct ferry_client *c,
                                                    const struct ferry_props *p);
/* An owned copy of the view (for a request's result), or NULL. */
struct ferry_properties *ferry__props_view_dup(const struct ferry_props *p);
/* c->mu held: close the connection because of a protocol error, sending MQTT
 * 5 DISCONNECT with `reason` first when connected. */
void ferry__conn_abort_locked(struct ferry_client *c, int cause, const char *text, uint8_t reason);

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
