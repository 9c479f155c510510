/*
 * ferry/store.h - where a client keeps what must survive: the outbox and the
 * QoS 1/2 messages in flight, the inbound QoS 2 packet ids awaiting PUBREL,
 * the subscriptions, and a little session metadata.
 *
 * ferry ships two stores: in memory (the default: survives reconnects, not a
 * process restart) and SQLite (survives process crashes at FERRY_SYNC_NORMAL,
 * power loss at FERRY_SYNC_FULL). An application can plug in its own by
 * filling a struct ferry_store_ops.
 *
 * Ownership: records given to a store are borrowed for the call (the store
 * copies what it keeps). Records a store hands back (scan callbacks) are
 * borrowed views, valid only during the callback: ferry never frees memory a
 * store returns, and a store never frees memory ferry passes.
 *
 * Thread safety: a store object is used by one client, from that client's
 * threads and from application threads calling ferry_publish; every
 * operation must be safe to call concurrently (the built-in stores hold their
 * own lock, innermost of all ferry locks). Callbacks of scan run with that
 * lock held and must not call back into the store.
 *
 * Errors: FERRY_OK or a negative enum ferry_err (FERRY_ERR_STORE_*).
 */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ferry/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a stored outbound message is in its life. */
enum ferry_store_state {
	FERRY_STORE_QUEUED = 0,   /* in the outbox, never sent */
	FERRY_STORE_SENT = 1,     /* PUBLISH sent, awaiting PUBACK (QoS 1) or PUBREC (QoS 2) */
	FERRY_STORE_RELEASED = 2, /* PUBREC received and PUBREL sent, awaiting PUBCOMP */
	FERRY_STORE_ACKED = 3,    /* update only: acknowledged (or dropped), remove it */
};

/* Which messages a scan visits. */
enum ferry_store_scan {
	FERRY_SCAN_ALL = 0,      /* every message */
	FERRY_SCAN_QUEUED = 1,   /* state QUEUED only (the outbox) */
	FERRY_SCAN_INFLIGHT = 2, /* state SENT or RELEASED only (cheap however many are queued) */
};

/* Flags of update. */
#define FERRY_UPDATE_LAZY 1u

/* One change of a stored message, for update. */
struct ferry_store_change {
	uint64_t token;
	uint8_t state;      /* SENT, RELEASED, or ACKED (remove) */
	uint16_t packet_id; /* SENT and RELEASED: the id the message was sent with (1..65535) */
};

/* An outbound message as stored. */
struct ferry_stored_msg {
	uint64_t token;      /* the publish's token: unique per client, increasing; the order key */
	uint8_t qos;         /* 1 or 2 (QoS 0 is never stored) */
	bool retain;
	uint8_t state;       /* enum ferry_store_state */
	uint16_t packet_id;  /* bound when it entered the in-flight window; 0 while queued */
	const char *topic;   /* not NUL-terminated */
	size_t topic_len;
	const void *payload;
	size_t payload_len;
	const void *props;   /* MQTT 5 properties as encoded on the wire (opaque), may be empty */
	size_t props_len;
};

/* Durability of the SQLite store. */
enum ferry_store_sync {
	FERRY_SYNC_NORMAL = 0, /* WAL, synchronous=NORMAL: survives a process crash */
	FERRY_SYNC_FULL = 1,   /* fsync at every commit: survives power loss */
};

/*
 * The operations of a store. `impl` is the implementation's own state.
 * Every function returns FERRY_OK or an error; none may be NULL.
 */
struct ferry_store_ops {
	size_t struct_size; /* sizeof(struct ferry_store_ops) */

	/* Bind to one client's data (many clients may share one database, keyed
	 * by client id) and report the highest token ever stored for it (a
	 * high-water mark kept even after every message was removed; 0 if none),
	 * so tokens are never reused across restarts. Called once, first. */
	int (*open)(void *impl, const char *client_id, uint64_t *max_token);

	/* Store n >= 1 new messages (state QUEUED) atomically: when put returns
	 * FERRY_OK they are durable at the store's level. Errors leave nothing
	 * half-stored: FERRY_ERR_STORE_FULL (no space), FERRY_ERR_STORE_IO. */
	int (*put)(void *impl, const struct ferry_stored_msg *msgs, size_t n);

	/* Apply n >= 1 changes atomically, in order: record a message's
	 * progress (state and packet id; for QoS 2 the client calls this
	 * before the packet is written to the socket) or forget it (ACKED).
	 * Tokens not stored are skipped (a message may have been dropped
	 * meanwhile). flags: FERRY_UPDATE_LAZY marks changes whose loss costs
	 * only a resend (removals, QoS 1 progress): a store may commit them
	 * without waiting for the disk, even at FERRY_SYNC_FULL, as long as a
	 * later durable commit cannot survive without them.
	 * FERRY_ERR_INVAL for a bad state or id; FERRY_ERR_STORE_* as put. */
	int (*update)(void *impl, const struct ferry_store_change *changes, size_t n,
	              unsigned flags);

	/* Call fn for up to `max` messages with token > after, in token order,
	 * of the kind `which` (enum ferry_store_scan); fn returning non-zero
	 * stops the scan (that value is returned). The views are valid during
	 * fn only. Rows that fail their checksum are moved aside (see
	 * quarantined) and skipped. */
	int (*scan)(void *impl, uint64_t after, size_t max, int which,
	            int (*fn)(void *arg, const struct ferry_stored_msg *m), void *arg);

	/* How many messages are stored and their topic + payload bytes. */
	int (*count)(void *impl, size_t *msgs, size_t *bytes);

	/* Inbound QoS 2 packet ids (1..65535), one record per id: awaiting
	 * PUBREL (released false), or with its exchange over (released true),
	 * each with the hash of the message last delivered under it. ferry
	 * keeps released ids so that a finished message a broker wrongly sends
	 * again (with DUP) after a restart is recognised and not delivered
	 * twice. put creates or replaces the id's record. The list callbacks
	 * below stop the listing by returning non-zero (that value is
	 * returned), as scan. */
	int (*qos2_put)(void *impl, uint16_t packet_id, uint64_t hash, bool released);
	int (*qos2_remove)(void *impl, uint16_t packet_id);
	int (*qos2_list)(void *impl,
	                 int (*fn)(void *arg, uint16_t packet_id, uint64_t hash, bool released),
	                 void *arg);

	/* Subscriptions held (options: the MQTT subscription options byte). */
	int (*sub_put)(void *impl, const char *filter, uint8_t options);
	int (*sub_remove)(void *impl, const char *filter);
	int (*sub_list)(void *impl, int (*fn)(void *arg, const char *filter, uint8_t options),
	                void *arg);

	/* Rows set aside because they failed their checksum since open. */
	int (*quarantined)(void *impl, size_t *rows);

	/* Release everything (impl included). */
	void (*close)(void *impl);
};

/* A store: its operations and their state. Owned by whoever created it
 * until given to a client (ferry_client_options.store), which then owns it
 * and frees it with ferry_store_free: ops->close(impl), then free() of this
 * struct, so a store of your own must allocate it with malloc. */
struct ferry_store {
	const struct ferry_store_ops *ops;
	void *impl;
};

/* ferry_store_memory_new - a store in memory. Thread safety: any thread. */
FERRY_API int ferry_store_memory_new(struct ferry_store **out);

/* Options of ferry_store_sqlite_new (FERRY_STORE_SQLITE_OPTIONS_INIT). */
struct ferry_store_sqlite_options {
	size_t struct_size;     /* sizeof(struct ferry_store_sqlite_options) */
	const char *path;       /* database file, created if absent */
	int sync;               /* enum ferry_store_sync (default NORMAL) */
	uint32_t max_pages;     /* 0 = no limit; else PRAGMA max_page_count (tests of a full disk) */
};
#define FERRY_STORE_SQLITE_OPTIONS_INIT {.struct_size = sizeof(struct ferry_store_sqlite_options)}

/*
 * ferry_store_sqlite_new - a SQLite store on a file. Opens (or creates) the
 * database and checks it: FERRY_ERR_STORE_CORRUPT (not a database,
 * truncated, unreadable), FERRY_ERR_STORE_VERSION (schema newer than this
 * ferry), FERRY_ERR_STORE_IO, FERRY_ERR_INVAL, FERRY_ERR_NOMEM.
 * Thread safety: any thread.
 */
FERRY_API int ferry_store_sqlite_new(const struct ferry_store_sqlite_options *o,
                                     struct ferry_store **out);

/* ferry_store_free - close and free a store not given to a client (NULL is fine). */
FERRY_API void ferry_store_free(struct ferry_store *s);

#ifdef __cplusplus
}
#endif

#endif
