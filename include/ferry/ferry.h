/*
 * ferry/ferry.h - public API of ferry, a durable asynchronous MQTT client.
 *
 * Ownership: inputs are borrowed for the duration of a call; ferry copies what
 * it keeps. Strings returned by ferry are static unless a function says
 * otherwise.
 *
 * Thread safety is stated per function.
 *
 * Threads and callbacks: a context (see ferry_context_create) runs one send
 * thread and one receive thread for all of its clients. Every callback of
 * every client of a context runs on that context's receive thread, one at a
 * time, with no ferry lock held: any ferry function may be called from a
 * callback (blocking ones, ferry_wait and ferry_context_destroy, return
 * FERRY_ERR_IN_CALLBACK there instead of deadlocking). A callback that
 * blocks delays the other callbacks of its context, not their keepalives.
 *
 * Ordering guarantees:
 *  - A client's publishes, subscribes and unsubscribes leave in the order
 *    of the calls, whatever their QoS (one outbox, first in, first out).
 *    After a reconnect with the session present, unacknowledged PUBLISHes
 *    (with DUP) and PUBRELs are sent again first, in their original order.
 *  - Messages from the broker reach the callbacks in the order they arrived
 *    on the connection; a QoS 2 message reaches them once.
 *  - The connected callback of a connection runs before any message or
 *    completion from it; the connection-lost callback after all of them.
 *  - Each operation completes exactly once; completions of QoS 1 publishes
 *    come in publish order (the broker acknowledges in order), likewise
 *    those of QoS 2 publishes.
 */
#ifndef FERRY_FERRY_H
#define FERRY_FERRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ferry/error.h>
#include <ferry/store.h>
#include <ferry/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MQTT protocol versions, by their protocol level byte. */
enum ferry_mqtt_version {
	FERRY_MQTT_3_1 = 3,   /* MQTT 3.1 ("MQIsdp") */
	FERRY_MQTT_3_1_1 = 4, /* MQTT 3.1.1 */
	FERRY_MQTT_5 = 5,     /* MQTT 5.0 */
};

/*
 * ferry_version - the library's version as 0xMMmmpp (see FERRY_VERSION_NUMBER);
 * if str is not NULL, *str is set to a static "MAJOR.MINOR.PATCH" string.
 * Compare with FERRY_VERSION_NUMBER to detect a header/library mismatch.
 * Safe from any thread and from callbacks.
 */
FERRY_API unsigned ferry_version(const char **str);

/* ------------------------------------------------------------------------ */
/* Objects and tokens                                                        */
/* ------------------------------------------------------------------------ */

/* A client: one MQTT connection (to one of its server URIs at a time). */
typedef struct ferry_client ferry_client;

/*
 * A context: one send thread, one receive thread, an epoll set and a timer
 * heap serving any number of clients. A client created without one gets its
 * own. Two contexts share nothing.
 */
typedef struct ferry_context ferry_context;

/*
 * A token names one asynchronous operation of a client. Tokens are issued in
 * increasing order from 1 and never reused by a client; 0 means "no token".
 */
typedef uint64_t ferry_token;

/* Kinds of operation, as reported in struct ferry_result. */
enum ferry_op_type {
	FERRY_OP_CONNECT = 1,
	FERRY_OP_DISCONNECT = 2,
	FERRY_OP_PUBLISH = 3,
	FERRY_OP_SUBSCRIBE = 4,
	FERRY_OP_UNSUBSCRIBE = 5,
	FERRY_OP_REQUEST = 6,      /* ferry_request: completes with the response */
	FERRY_OP_AUTH = 7,         /* ferry_reauthenticate */
};

/* Log levels for the log callback. */
enum ferry_log_level {
	FERRY_LOG_ERROR = 1,
	FERRY_LOG_WARNING = 2,
	FERRY_LOG_INFO = 3,
	FERRY_LOG_DEBUG = 4,
};

/* ------------------------------------------------------------------------ */
/* MQTT 5 properties (doc/mqtt5.md)                                          */
/* ------------------------------------------------------------------------ */

/*
 * One User Property: a name and a value, UTF-8 strings (MQTT strings cannot
 * hold U+0000, so C strings lose nothing). User properties keep their order
 * both ways, and a name may repeat.
 */
struct ferry_user_property {
	const char *name;
	const char *value;
};

/* Which numeric fields of struct ferry_properties are set. Strings and
 * binary fields are set when their pointer is not NULL. */
enum ferry_prop_flag {
	FERRY_PF_PAYLOAD_FORMAT = 1u << 0,        /* payload_format */
	FERRY_PF_MESSAGE_EXPIRY = 1u << 1,        /* message_expiry */
	FERRY_PF_SESSION_EXPIRY = 1u << 2,        /* session_expiry */
	FERRY_PF_WILL_DELAY = 1u << 3,            /* will_delay */
	FERRY_PF_RECEIVE_MAXIMUM = 1u << 4,       /* receive_maximum */
	FERRY_PF_MAXIMUM_PACKET_SIZE = 1u << 5,   /* maximum_packet_size */
	FERRY_PF_TOPIC_ALIAS_MAXIMUM = 1u << 6,   /* topic_alias_maximum */
	FERRY_PF_REQUEST_RESPONSE_INFO = 1u << 7, /* request_response_info */
	FERRY_PF_REQUEST_PROBLEM_INFO = 1u << 8,  /* request_problem_info */
	FERRY_PF_SUBSCRIPTION_ID = 1u << 9,       /* subscription_id */
	FERRY_PF_SERVER_KEEPALIVE = 1u << 10,       /* received only: server_keepalive */
	FERRY_PF_MAXIMUM_QOS = 1u << 11,            /* received only: maximum_qos */
	FERRY_PF_RETAIN_AVAILABLE = 1u << 12,       /* received only: retain_available */
	FERRY_PF_WILDCARD_SUB_AVAILABLE = 1u << 13, /* received only: wildcard_sub_available */
	FERRY_PF_SUB_ID_AVAILABLE = 1u << 14,       /* received only: sub_id_available */
	FERRY_PF_SHARED_SUB_AVAILABLE = 1u << 15,   /* received only: shared_sub_available */
	FERRY_PF_TOPIC_ALIAS = 1u << 16,            /* received only: topic_alias */
};

/*
 * MQTT 5 properties, one struct for every packet (MQTT 5.0 section 2.2.2).
 * Zero it (or use FERRY_PROPERTIES_INIT), then set what you want.
 *
 * Sending: pass it as `call->props` of an operation, `connect_props` of the
 * client options or `props` of the will. Each operation takes only the
 * properties its packet allows (others make the call fail with
 * FERRY_ERR_PROPERTY_NOT_ALLOWED, out-of-range values with
 * FERRY_ERR_PROPERTY_VALUE, and any property on an MQTT 3.x client with
 * FERRY_ERR_UNSUPPORTED):
 *   connect     session_expiry, receive_maximum, maximum_packet_size,
 *               topic_alias_maximum, request_response_info,
 *               request_problem_info, auth_method, auth_data, user
 *   will        will_delay, payload_format, message_expiry, content_type,
 *               response_topic, correlation_data, user
 *   publish     payload_format, message_expiry, content_type,
 *               response_topic, correlation_data, user (topic aliases are
 *               ferry's business: see auto_topic_alias)
 *   subscribe   subscription_id, user
 *   unsubscribe user
 *   disconnect  session_expiry, reason_string, user
 * Everything is copied during the call.
 *
 * Received (struct ferry_message, ferry_result, ferry_connected_info,
 * on_server_disconnect): every property the broker sent, valid during the
 * callback; strings NUL-terminated; user properties in wire order.
 */
struct ferry_properties {
	unsigned flags;                   /* FERRY_PF_* for the numeric fields set */
	uint8_t payload_format;           /* 0 unspecified bytes, 1 UTF-8 text */
	uint32_t message_expiry;          /* seconds */
	uint32_t session_expiry;          /* seconds; 0xFFFFFFFF: never */
	uint32_t will_delay;              /* seconds */
	uint16_t receive_maximum;         /* 1..65535 */
	uint32_t maximum_packet_size;     /* bytes, not 0 */
	uint16_t topic_alias_maximum;
	uint8_t request_response_info;    /* 0/1 */
	uint8_t request_problem_info;     /* 0/1 */
	uint32_t subscription_id;         /* 1..268,435,455; received: the first */
	const char *content_type;
	const char *response_topic;       /* a topic name (no wildcards) */
	const void *correlation_data;     /* binary */
	size_t correlation_len;
	const char *reason_string;
	const char *auth_method;
	const void *auth_data;            /* binary */
	size_t auth_data_len;
	const struct ferry_user_property *user; /* user_count entries, in order */
	size_t user_count;

	/* Received only (ignored when sending). */
	const uint32_t *subscription_ids; /* a message: every Subscription Identifier */
	size_t subscription_id_count;
	const char *assigned_client_id;   /* CONNACK */
	const char *response_info;        /* CONNACK */
	const char *server_reference;     /* CONNACK refusal, DISCONNECT: another server to use */
	uint16_t server_keepalive;        /* CONNACK */
	uint16_t topic_alias;             /* a message: the alias it came with */
	uint8_t maximum_qos;              /* CONNACK */
	uint8_t retain_available;         /* CONNACK */
	uint8_t wildcard_sub_available;   /* CONNACK */
	uint8_t sub_id_available;         /* CONNACK */
	uint8_t shared_sub_available;     /* CONNACK */
};
#define FERRY_PROPERTIES_INIT {0}

/*
 * ferry_properties_get_user - the value of the first user property called
 * `name` in props (NULL props fine), or NULL.
 * Thread safety: any thread (reads props only).
 */
FERRY_API const char *ferry_properties_get_user(const struct ferry_properties *props,
                                                const char *name);

/* ------------------------------------------------------------------------ */
/* Callback arguments                                                        */
/* ------------------------------------------------------------------------ */

/*
 * A message that arrived. Valid only during the callback that receives it;
 * ferry_message_dup keeps a copy.
 */
struct ferry_message {
	const char *topic;     /* NUL-terminated */
	size_t topic_len;
	const void *payload;   /* payload_len bytes; not NUL-terminated */
	size_t payload_len;
	int qos;
	bool retain;
	bool dup;
	const struct ferry_properties *props; /* MQTT 5: the message's properties (NULL: none) */
};

/*
 * How an operation ended. Valid only during the callback. rc is FERRY_OK or
 * an enum ferry_err; reason_code is the broker's answer where there is one
 * (CONNACK return code or MQTT 5 reason code of CONNACK, PUBACK, PUBREC,
 * PUBCOMP, AUTH, or the first of SUBACK/UNSUBACK), otherwise -1.
 */
struct ferry_result {
	ferry_token token;
	int op;                     /* enum ferry_op_type */
	int rc;
	int reason_code;
	bool session_present;       /* FERRY_OP_CONNECT */
	const uint8_t *granted;     /* FERRY_OP_SUBSCRIBE: granted QoS (0..2) or failure code per
	                               filter; FERRY_OP_UNSUBSCRIBE (MQTT 5): reason code per filter */
	size_t granted_count;
	const char *server_uri;     /* FERRY_OP_CONNECT: the server it connected to (or last tried) */
	const struct ferry_properties *props;   /* MQTT 5: properties of the broker's answer
	                                           (reason string, user properties), or NULL */
	const struct ferry_message *message;    /* FERRY_OP_REQUEST: the response (rc FERRY_OK) */
};

/* Completion callback of one operation; called exactly once per operation. */
typedef void (*ferry_result_cb)(ferry_client *c, void *user, const struct ferry_result *r);

/* Message callback (client-wide, or per subscription). */
typedef void (*ferry_message_cb)(ferry_client *c, void *user, const struct ferry_message *m);

/* What the connected callback is told. Valid only during the callback. */
struct ferry_connected_info {
	const char *server_uri; /* the server it connected to */
	bool session_present;
	bool reconnect;         /* false for the first connection */
	const char *assigned_client_id; /* MQTT 5: the id the broker gave (an empty client_id
	                                   asked for one), else NULL */
	const struct ferry_properties *props; /* MQTT 5: the CONNACK's properties, or NULL */
};

/*
 * Optional per-call completion: on_done(client, user, result) is called
 * exactly once, after the operation succeeds, fails, or is cancelled at
 * destroy. Pass NULL where no callback is wanted.
 */
struct ferry_call {
	ferry_result_cb on_done;
	void *user;
	const struct ferry_properties *props; /* MQTT 5: properties of the request (copied) */
	int reason_code;                      /* MQTT 5 ferry_disconnect: the reason sent (0: normal,
	                                         0x04: disconnect with will message) */
};

/* ------------------------------------------------------------------------ */
/* Creating and destroying                                                   */
/* ------------------------------------------------------------------------ */

/* What to do when the outbox is full (see max_queued in the options). */
enum ferry_queue_policy {
	FERRY_QUEUE_REJECT_NEW = 0, /* ferry_publish returns FERRY_ERR_QUEUE_FULL */
	FERRY_QUEUE_DROP_OLDEST = 1, /* the oldest queued publish completes with FERRY_ERR_DROPPED */
};

/* What to do when the broker refuses the connection for credentials,
 * authorisation or a ban (not for "server unavailable" or "busy"). */
enum ferry_refused_policy {
	FERRY_REFUSED_BACKOFF = 0, /* keep trying, at the maximum reconnect delay */
	FERRY_REFUSED_STOP = 1,    /* stop reconnecting; the connection-lost callback says why */
};

/* Last will, sent by the broker if the connection is lost without DISCONNECT. */
struct ferry_will_options {
	const char *topic;
	const void *payload;
	size_t payload_len;
	int qos;
	bool retain;
	const struct ferry_properties *props; /* MQTT 5 will properties (will_delay, ...) */
};

/* Enhanced authentication (MQTT 5 section 4.12): what the broker sent. */
struct ferry_auth_step {
	int reason_code;                      /* 0x18 continue authentication */
	const char *method;                   /* the Authentication Method */
	const void *data;                     /* the broker's Authentication Data (may be NULL) */
	size_t data_len;
	const struct ferry_properties *props; /* all of the AUTH's properties */
};

/* ... and the answer on_auth gives: data to send back (read right after the
 * callback returns), and optional user properties. */
struct ferry_auth_reply {
	const void *data;
	size_t data_len;
	const struct ferry_user_property *user;
	size_t user_count;
};

/* Minimum TLS version (ferry_tls_options.min_version). */
enum ferry_tls_version {
	FERRY_TLS_1_2 = 0,
	FERRY_TLS_1_3 = 1,
};

/*
 * TLS, used for ssl://, mqtts:// and wss:// servers (doc/tls.md). Every
 * zero value is the secure default: the server's chain is verified against
 * the system's CAs, and its name (or IP address) against the URI's host, at
 * every connect and reconnect; TLS 1.2 at least.
 */
struct ferry_tls_options {
	size_t struct_size;             /* sizeof(struct ferry_tls_options) */
	const char *ca_file;            /* PEM file of trusted CAs; with ca_dir NULL too: the system's */
	const char *ca_dir;             /* directory of hashed CA certificates (openssl rehash) */
	const char *cert_file;          /* client certificate (PEM, chain allowed), for mutual TLS */
	const char *key_file;           /* its private key (PEM); NULL: in cert_file */
	const char *key_passphrase;     /* for an encrypted key_file */
	int min_version;                /* enum ferry_tls_version (default TLS 1.2) */
	const char *ciphers;            /* TLS 1.2 cipher list (OpenSSL syntax); NULL: OpenSSL's */
	const char *ciphersuites;       /* TLS 1.3 suites; NULL: OpenSSL's */
	const char *const *alpn;        /* ALPN protocols offered, e.g. {"mqtt"}; NULL: none */
	size_t alpn_count;
	const char *sni;                /* server name sent; NULL: the URI's host (none for an IP) */
	const char *crl_file;           /* PEM CRL: refuse revoked certificates (chain checked too) */
	const char *psk_identity;       /* pre-shared key instead of certificates (with psk) */
	const void *psk;
	size_t psk_len;
	bool insecure;                  /* no chain or name check at all; logged as a warning at
	                                   every connect. For tests only. */
};
#define FERRY_TLS_OPTIONS_INIT {.struct_size = sizeof(struct ferry_tls_options)}

/* Kinds of proxy (ferry_proxy_options.type). */
enum ferry_proxy_type {
	FERRY_PROXY_NONE = 0,
	FERRY_PROXY_HTTP = 1,   /* HTTP CONNECT (RFC 9110), basic authentication */
	FERRY_PROXY_SOCKS5 = 2, /* SOCKS5 (RFC 1928), username/password (RFC 1929) */
};

/* A proxy between the client and every server (doc/proxies.md);
 * FERRY_PROXY_OPTIONS_INIT, then set fields. */
struct ferry_proxy_options {
	size_t struct_size;   /* sizeof(struct ferry_proxy_options) */
	int type;             /* enum ferry_proxy_type */
	const char *host;     /* name or address of the proxy */
	int port;
	const char *username; /* NULL: no authentication */
	const char *password;
};
#define FERRY_PROXY_OPTIONS_INIT {.struct_size = sizeof(struct ferry_proxy_options)}

/*
 * Client options. Initialise with FERRY_CLIENT_OPTIONS_INIT, then set fields:
 *
 *   struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
 *   o.server_uri = "tcp://127.0.0.1:1883";
 *   o.client_id = "sensor-7";
 *
 * Everything is copied by ferry_client_create: nothing here needs to outlive
 * the call. `struct_size` lets later versions add fields.
 */
struct ferry_client_options {
	size_t struct_size;
	const char *client_id;           /* "" lets the broker assign one (3.1.1 needs clean_session) */
	const char *server_uri;          /* one server, or: */
	const char *const *server_uris;  /* several, tried in turn (a cluster) */
	size_t server_uri_count;
	int mqtt_version;                /* enum ferry_mqtt_version (default 3.1.1) */
	int keepalive_s;                 /* seconds, 0 = off (default 60) */
	int ping_timeout_ms;             /* 0 = half the keepalive */
	bool clean_session;              /* default true */
	const char *username;            /* NULL = none */
	const void *password;            /* NULL = none */
	size_t password_len;
	const struct ferry_will_options *will; /* NULL = none */
	int connect_timeout_ms;          /* DNS + TCP + CONNACK (default 30000) */
	int max_inflight;                /* QoS 1/2 publishes in flight (default 20, max 65535). 20
	                                    is what mosquitto lets a 3.x client have unfinished by
	                                    default: a larger window can get a reconnecting client
	                                    with a backlog dropped every time. MQTT 5 brokers say
	                                    their limit (Receive Maximum), which lowers it. */
	ferry_context *context;          /* NULL = the client gets its own */

	void *user;                      /* passed to every callback below */
	/* a connection was accepted (CONNACK); see struct ferry_connected_info */
	void (*on_connected)(ferry_client *c, void *user, const struct ferry_connected_info *info);
	/* cause: enum ferry_err; text: a sentence (valid during the call) */
	void (*on_connection_lost)(ferry_client *c, void *user, int cause, const char *text);
	ferry_message_cb on_message;     /* messages no per-subscription callback took */
	/* a QoS 0 publish written, QoS 1 acknowledged, QoS 2 completed (rc FERRY_OK) or failed */
	void (*on_delivery_complete)(ferry_client *c, void *user, ferry_token token, int rc);
	/* Log lines (text valid during the call), on the receive thread like
	 * every callback, in order with the other events; DEBUG traces every
	 * packet sent and received. */
	void (*on_log)(void *user, int level, const char *text);
	int log_level;                   /* enum ferry_log_level: most verbose passed on (default WARNING) */

	/* Staying connected. After a connection is lost (and after a first
	 * ferry_connect whose round of servers all failed) ferry reconnects by
	 * itself, trying the servers in order, waiting between rounds a delay
	 * that doubles from reconnect_min_ms up to reconnect_max_ms with full
	 * jitter; the delay resets once a connection stayed up reconnect_stable_ms.
	 * ferry_disconnect and ferry_client_destroy stop it. */
	bool auto_reconnect;             /* default true */
	int reconnect_min_ms;            /* default 1000 */
	int reconnect_max_ms;            /* default 60000 */
	int reconnect_stable_ms;         /* default 10000 */
	int refused_policy;              /* enum ferry_refused_policy (default BACKOFF) */
	bool resubscribe;                /* default true: subscribe again when the broker lost the session */
	/* Outbox limits: messages not yet in flight; 0 = no limit. With a
	 * store, messages of an earlier run count once they are read back
	 * into the outbox (a batch at a time), not while still in the file. */
	size_t max_queued;               /* messages */
	size_t max_queued_bytes;         /* topic + payload bytes */
	int queue_policy;                /* enum ferry_queue_policy (default REJECT_NEW) */
	/* Called when ferry concludes that another client with the same client
	 * id keeps taking the session over (MQTT 5 DISCONNECT 0x8E, or
	 * connections dropped by the broker right after CONNACK several times
	 * in a row). ferry then waits reconnect_max_ms between attempts instead
	 * of fighting; `count` is how many takeovers it has seen in a row. */
	void (*on_takeover)(ferry_client *c, void *user, int count);

	/* Durability (doc/durability.md). QoS 1/2 publishes are kept in a
	 * store until acknowledged, with the in-flight state, the inbound QoS 2
	 * packet ids awaiting PUBREL and the subscriptions. Without a store
	 * they live in memory and survive reconnects but not the process.
	 * With store_path (or a store), ferry_publish at QoS 1/2 returns only
	 * once the message is committed, and a client created again on the
	 * same store and client id resumes: unacknowledged messages are sent
	 * again (in order, streamed from the store as the window allows),
	 * delivery-complete fires for them when acknowledged, and no inbound
	 * QoS 2 message whose id was stored is delivered twice. */
	const char *store_path;          /* a SQLite file (created if absent), NULL = none */
	int store_sync;                  /* enum ferry_store_sync for store_path (default NORMAL) */
	struct ferry_store *store;       /* or a store of your own (then store_path must be NULL);
	                                    the client owns it once create succeeds */

	/* Transports (doc/tls.md, doc/websocket.md); all copied at create. */
	const struct ferry_tls_options *tls;     /* TLS settings; NULL: the secure defaults */
	const struct ferry_proxy_options *proxy; /* NULL: connect directly */
	const char *const *ws_headers;   /* extra headers of the WebSocket upgrade, "Name: value" */
	size_t ws_header_count;

	/* MQTT 5 (doc/mqtt5.md). */
	/* CONNECT properties (copied). Without a session_expiry, clean_session
	 * false asks for a session that never expires (as in 3.1.1) and true
	 * for one that ends with the connection. receive_maximum (default
	 * 65535) is enforced: a broker that sends more unacknowledged QoS 1/2
	 * messages is disconnected with reason 0x93. topic_alias_maximum lets
	 * the broker use that many topic aliases. maximum_packet_size: larger
	 * packets from the broker close the connection (reason 0x95). */
	const struct ferry_properties *connect_props;
	/* Give topics aliases automatically, within the broker's Topic Alias
	 * Maximum: a topic's first PUBLISH on a connection names it with an
	 * alias, later ones send the alias only. Aliases start afresh with
	 * each connection. */
	bool auto_topic_alias;
	/* The broker sent DISCONNECT (before on_connection_lost): its reason
	 * code and properties (reason string, server reference, ...). */
	void (*on_server_disconnect)(ferry_client *c, void *user, int reason_code,
	                             const struct ferry_properties *props);
	/* Enhanced authentication with connect_props->auth_method: called for
	 * each AUTH the broker sends during connect or re-authentication; fill
	 * `out` and return FERRY_OK to go on, anything else to give up (the
	 * connection is closed with FERRY_ERR_AUTH, after DISCONNECT 0x80
	 * when the broker had accepted it: a re-authentication). */
	int (*on_auth)(ferry_client *c, void *user, const struct ferry_auth_step *in,
	               struct ferry_auth_reply *out);
};

#define FERRY_CLIENT_OPTIONS_INIT                                                          \
	{                                                                                  \
		.struct_size = sizeof(struct ferry_client_options),                        \
		.mqtt_version = FERRY_MQTT_3_1_1, .keepalive_s = 60, .clean_session = true, \
		.connect_timeout_ms = 30000, .max_inflight = 20,                             \
		.log_level = FERRY_LOG_WARNING, .auto_reconnect = true,                    \
		.reconnect_min_ms = 1000, .reconnect_max_ms = 60000,                       \
		.reconnect_stable_ms = 10000, .resubscribe = true,                         \
	}

/*
 * ferry_client_create - make a client from options (copied). It does not
 * connect: call ferry_connect.
 * Errors: FERRY_ERR_INVAL (NULL, bad version, bad QoS in will, no server,
 * struct_size too small), FERRY_ERR_URI, FERRY_ERR_TOPIC_NAME (will topic),
 * FERRY_ERR_CLIENT_ID (3.1: empty or over 23 bytes; 3.1.1: empty without
 * clean_session), FERRY_ERR_UTF8 / FERRY_ERR_UTF8_NUL (client id),
 * FERRY_ERR_NOMEM, FERRY_ERR_SYSTEM (threads could not be started), and
 * with a store: FERRY_ERR_STORE_CORRUPT (not a ferry store, truncated,
 * damaged), FERRY_ERR_STORE_VERSION (written by a newer ferry),
 * FERRY_ERR_STORE_IO. On failure a store given in opts is not taken (the
 * caller still owns it). Creating is quick however many messages are
 * stored: only those in flight are read at once.
 * Thread safety: any thread; from a callback too.
 */
FERRY_API int ferry_client_create(const struct ferry_client_options *opts, ferry_client **out);

/*
 * ferry_client_destroy - close the connection (no DISCONNECT is sent: use
 * ferry_disconnect first for a clean goodbye), complete every pending
 * operation with FERRY_ERR_CANCELLED, and free the client. NULL is fine.
 * From a callback of this client it takes effect when the callback returns.
 * Thread safety: any thread; from callbacks too. Not twice for one client.
 */
FERRY_API void ferry_client_destroy(ferry_client *c);

/* ------------------------------------------------------------------------ */
/* Operations (all asynchronous)                                             */
/* ------------------------------------------------------------------------ */
/*
 * Common to every operation below:
 *  - Thread safety: safe from any thread and from inside any ferry callback.
 *  - `call` (may be NULL) names a completion callback; `token` (may be NULL)
 *    receives the operation's token.
 *  - A return of FERRY_OK means the operation was accepted and will complete
 *    exactly once; any other return means it was not, and no callback will
 *    be called for it.
 */

/*
 * ferry_connect - connect to the servers in order until one accepts.
 * Completes with FERRY_OK and session_present, or, when every server of the
 * round failed, with the last failure (FERRY_ERR_CONNECT_REFUSED with the
 * broker's reason code, _CONNECT_TIMEOUT, _DNS, _CONNECT, _IO, _CLOSED, and
 * from the transports _TLS, _TLS_VERIFY, _WEBSOCKET, _PROXY, _PROXY_AUTH).
 * With auto_reconnect, ferry keeps trying after a failed round (the
 * connected callback tells when it succeeds) until ferry_disconnect.
 * Errors: FERRY_ERR_INVAL, FERRY_ERR_STATE (already connected or connecting).
 */
FERRY_API int ferry_connect(ferry_client *c, const struct ferry_call *call, ferry_token *token);

/*
 * ferry_disconnect - let in-flight messages complete for up to timeout_ms,
 * then send DISCONNECT and close. Messages still queued stay in the outbox.
 * Completes with FERRY_OK (or FERRY_ERR_NOT_CONNECTED if not connected).
 */
/* MQTT 5: call->reason_code is the DISCONNECT's reason code (0x04 asks the
 * broker to send the will; a code only a server may send: FERRY_ERR_INVAL),
 * call->props may set session_expiry (not when the CONNECT's was 0:
 * FERRY_ERR_PROPERTY_VALUE), reason_string and user; what would make the
 * DISCONNECT larger than the broker's Maximum Packet Size is left out. */
FERRY_API int ferry_disconnect(ferry_client *c, int timeout_ms, const struct ferry_call *call,
                               ferry_token *token);

/*
 * ferry_publish - publish a message; topic and payload are copied.
 * QoS 0 completes when written to the socket, QoS 1 at PUBACK, QoS 2 at
 * PUBCOMP; on_delivery_complete is called as well. While disconnected the
 * message waits in the outbox. Messages leave in the order of the calls.
 * Errors: FERRY_ERR_INVAL (NULL topic, qos not 0..2, payload NULL with a
 * length), FERRY_ERR_TOPIC_NAME, FERRY_ERR_UTF8, FERRY_ERR_UTF8_NUL,
 * FERRY_ERR_PACKET_TOO_LARGE, FERRY_ERR_NOMEM, FERRY_ERR_QUEUE_FULL (the
 * outbox is at its limit and the policy is FERRY_QUEUE_REJECT_NEW), and
 * with a store at QoS 1/2: FERRY_ERR_STORE_FULL (no space: nothing
 * stored is lost, publishing works again once there is room),
 * FERRY_ERR_STORE_IO. With a store, a QoS 1/2 publish returns FERRY_OK
 * only once the message is committed (concurrent callers share commits).
 * A message over an MQTT 5 broker's limits is never sent: it completes with
 * FERRY_ERR_QOS_NOT_SUPPORTED (Maximum QoS), FERRY_ERR_RETAIN_NOT_SUPPORTED
 * (Retain Available 0) or FERRY_ERR_PACKET_TOO_LARGE (Maximum Packet Size).
 */
FERRY_API int ferry_publish(ferry_client *c, const char *topic, const void *payload, size_t len,
                            int qos, bool retain, const struct ferry_call *call, ferry_token *token);

/* One message of ferry_publish_many. */
struct ferry_publish_msg {
	const char *topic;
	const void *payload;
	size_t len;
	int qos;
	bool retain;
	const struct ferry_properties *props; /* MQTT 5: instead of call->props (NULL: those) */
};

/*
 * ferry_publish_message - ferry_publish of one struct ferry_publish_msg
 * (MQTT 5 properties in msg->props or call->props). A message with a
 * message_expiry that waited in the outbox is sent with what remains of
 * the interval; one that expired before it could be sent is not sent and
 * completes with FERRY_ERR_EXPIRED.
 */
FERRY_API int ferry_publish_message(ferry_client *c, const struct ferry_publish_msg *msg,
                                    const struct ferry_call *call, ferry_token *token);

/*
 * ferry_request - MQTT 5 request/response: publish msg with Response Topic
 * `response_topic` and a Correlation Data unique to this request. The
 * token completes when a message carrying that correlation data arrives
 * (result->message is the response; it goes to no other callback), with
 * the publish's failure, or with FERRY_ERR_TIMEOUT after timeout_ms (0: no
 * limit). The first request to a response topic subscribes to it (QoS 1);
 * the subscription stays.
 * Errors: those of ferry_publish, FERRY_ERR_UNSUPPORTED (not MQTT 5),
 * FERRY_ERR_TOPIC_NAME (response_topic).
 */
FERRY_API int ferry_request(ferry_client *c, const struct ferry_publish_msg *msg,
                            const char *response_topic, int timeout_ms,
                            const struct ferry_call *call, ferry_token *token);

/*
 * ferry_reauthenticate - MQTT 5 re-authentication (section 4.12.1): send
 * AUTH (0x19) with the connect's auth_method and `data`; on_auth answers
 * the broker's challenges. Completes with FERRY_OK when the broker sends
 * AUTH success, or with the error that ended the connection.
 * Errors: FERRY_ERR_UNSUPPORTED (not MQTT 5, or no auth_method),
 * FERRY_ERR_NOT_CONNECTED, FERRY_ERR_STATE (one is in progress).
 */
FERRY_API int ferry_reauthenticate(ferry_client *c, const void *data, size_t len,
                                   const struct ferry_call *call, ferry_token *token);

/*
 * ferry_publish_many - publish n messages at once, in order: all are
 * accepted or none (same errors as ferry_publish; a bad message makes the
 * call fail before anything is queued). With a store, the QoS 1/2 ones
 * are committed in one transaction. `call` applies to each message;
 * tokens (may be NULL) receives n tokens.
 */
FERRY_API int ferry_publish_many(ferry_client *c, const struct ferry_publish_msg *msgs, size_t n,
                                 const struct ferry_call *call, ferry_token *tokens);

/*
 * ferry_stored_list - call fn for every message the store holds for this
 * client (unacknowledged QoS 1/2 publishes, queued or in flight), in token
 * order: after a restart, these are what the previous run published and
 * the broker has not acknowledged yet, each with its token. The view is
 * valid during fn only; fn returning non-zero stops the listing (that
 * value is returned). fn must not call ferry_publish on this client.
 * Errors: FERRY_ERR_INVAL, FERRY_ERR_STORE_IO, FERRY_ERR_NOMEM.
 * Thread safety: any thread, callbacks too.
 */
FERRY_API int ferry_stored_list(ferry_client *c,
                                int (*fn)(void *arg, const struct ferry_stored_msg *m), void *arg);

/* One topic filter to subscribe to. on_message (may be NULL) gets the
 * messages that match this filter instead of the client-wide callback. */
struct ferry_subscription {
	const char *filter;          /* MQTT 5: "$share/group/filter" for a shared subscription */
	int qos;
	ferry_message_cb on_message;
	void *user;
	/* MQTT 5 subscription options */
	bool no_local;               /* not the messages this client publishes */
	bool retain_as_published;    /* keep the RETAIN flag of forwarded messages */
	int retain_handling;         /* 0 send retained at subscribe, 1 only if new, 2 never */
};

/*
 * ferry_subscribe_many - subscribe to n filters in one SUBSCRIBE. The result
 * carries the granted QoS (or failure code) for each. Per-subscription
 * callbacks take effect at once (they route any matching message).
 * MQTT 5: call->props may carry a subscription_id and user properties; a
 * broker that said it allows no wildcards, shared subscriptions or
 * subscription identifiers gets no such SUBSCRIBE: it completes with
 * FERRY_ERR_SUB_NOT_SUPPORTED.
 * Errors: FERRY_ERR_INVAL (n 0, qos not 0..2, retain_handling not 0..2,
 * MQTT 5 options on 3.x), FERRY_ERR_TOPIC_FILTER (also no_local on a shared
 * subscription), FERRY_ERR_UTF8, FERRY_ERR_NOMEM.
 */
FERRY_API int ferry_subscribe_many(ferry_client *c, const struct ferry_subscription *subs, size_t n,
                                   const struct ferry_call *call, ferry_token *token);

/* ferry_subscribe - one filter, messages to the client-wide callback. */
FERRY_API int ferry_subscribe(ferry_client *c, const char *filter, int qos,
                              const struct ferry_call *call, ferry_token *token);

/*
 * ferry_unsubscribe_many - unsubscribe n filters in one UNSUBSCRIBE; their
 * per-subscription callbacks are removed when the broker acknowledges.
 */
FERRY_API int ferry_unsubscribe_many(ferry_client *c, const char *const *filters, size_t n,
                                     const struct ferry_call *call, ferry_token *token);

/* ferry_unsubscribe - one filter. */
FERRY_API int ferry_unsubscribe(ferry_client *c, const char *filter, const struct ferry_call *call,
                                ferry_token *token);

/*
 * ferry_wait - block until the operation `token` completes or timeout_ms
 * passes (negative: no limit). Returns the operation's rc, FERRY_ERR_TIMEOUT,
 * FERRY_ERR_NOT_FOUND (not a token of this client, or completed so long ago
 * that its result was forgotten: the last 4096 results are kept), or
 * FERRY_ERR_IN_CALLBACK when called from a ferry callback (waiting there
 * could deadlock: the callback thread is the one that completes operations).
 * Thread safety: any thread except ferry callbacks.
 */
FERRY_API int ferry_wait(ferry_client *c, ferry_token token, int timeout_ms);

/*
 * ferry_is_connected - true while a connection is accepted (CONNACK seen)
 * and not yet lost or closed. Thread safety: any thread, callbacks too.
 */
FERRY_API bool ferry_is_connected(ferry_client *c);

/* ------------------------------------------------------------------------ */
/* Messages, statistics, contexts                                            */
/* ------------------------------------------------------------------------ */

/* ferry_message_dup - a deep copy of a message (one allocation), or NULL. */
FERRY_API struct ferry_message *ferry_message_dup(const struct ferry_message *m);
/* ferry_message_free - free a copy made by ferry_message_dup (NULL is fine). */
FERRY_API void ferry_message_free(struct ferry_message *m);

/* Packet and byte counters of one client since create. */
struct ferry_stats {
	uint64_t packets_sent[16];     /* by control packet type (1..15) */
	uint64_t packets_received[16];
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint64_t inflight;             /* operations with a packet id awaiting an ack */
	uint64_t queued;               /* operations waiting in the outbox */
	uint64_t reconnects;           /* connections made after the first */
	uint64_t dropped;              /* publishes dropped from a full outbox */
	uint64_t refused;              /* publishes refused by a full outbox */
	uint64_t takeovers;            /* client-id takeovers detected */
	uint64_t last_ping_rtt_us;     /* PINGREQ -> PINGRESP of the latest ping, 0 if none */
	uint64_t restored;             /* messages restored from the store (in flight or queued) so far */
	uint64_t store_errors;         /* store operations that failed (each is logged) */
	uint64_t store_quarantined;    /* stored rows set aside because they failed their checksum */
};

/* ferry_client_stats - copy the counters. Thread safety: any thread, callbacks too. */
FERRY_API int ferry_client_stats(ferry_client *c, struct ferry_stats *out);

/* Context options: FERRY_CONTEXT_OPTIONS_INIT, then set fields. */
struct ferry_context_options {
	size_t struct_size;
	int reserved;
};
#define FERRY_CONTEXT_OPTIONS_INIT {.struct_size = sizeof(struct ferry_context_options)}

/*
 * ferry_context_create - start a context's send and receive threads.
 * opts may be NULL. Errors: FERRY_ERR_INVAL, FERRY_ERR_NOMEM, FERRY_ERR_SYSTEM.
 * Thread safety: any thread.
 */
FERRY_API int ferry_context_create(const struct ferry_context_options *opts, ferry_context **out);

/*
 * ferry_context_destroy - stop the threads and free the context. Every
 * client made with it must have been destroyed first (FERRY_ERR_STATE
 * otherwise, and nothing happens). Not from a callback (FERRY_ERR_IN_CALLBACK).
 */
FERRY_API int ferry_context_destroy(ferry_context *ctx);

#ifdef __cplusplus
}
#endif

#endif
