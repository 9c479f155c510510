/*
 * ferry/error.h - the one error enum of ferry and its text.
 *
 * Every ferry function that can fail returns an int that is either FERRY_OK (0)
 * or one of the negative values below; nothing else shares this integer space.
 * Broker reason codes (MQTT 5) are data in completion results, never these.
 *
 * The values are part of the ABI: they never change once released; new codes
 * are added at the end of their range.
 *   -1 ..  -49  usage and resources
 *  -50 ..  -99  connection and engine
 * -100 .. -199  malformed or protocol-violating packets (the codec)
 * -200 .. -249  store
 * -250 .. -299  transport (TLS, WebSocket, proxies)
 */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#ifndef FERRY_API
#define FERRY_API __attribute__((visibility("default")))
#endif

/* Results of ferry functions: FERRY_OK or a negative code (ranges above). */
enum ferry_err {
	FERRY_OK = 0,

	/* usage and resources */
	FERRY_ERR_INVAL = -1,          /* an argument is invalid (NULL, out of range) */
	FERRY_ERR_NOMEM = -2,          /* memory allocation failed */
	FERRY_ERR_BUFFER_SIZE = -3,    /* the caller's output buffer is too small */
	FERRY_ERR_STATE = -4,          /* the call is not valid in the object's current state */
	FERRY_ERR_TIMEOUT = -5,        /* a bounded wait expired */
	FERRY_ERR_UNSUPPORTED = -6,    /* the feature or option is not supported */
	FERRY_ERR_STRING_TOO_LONG = -7, /* a string or binary field exceeds 65,535 bytes */
	FERRY_ERR_CANCELLED = -8,      /* the operation was cancelled (client destroyed) */
	FERRY_ERR_IN_CALLBACK = -9,    /* a blocking call was made from a ferry callback */
	FERRY_ERR_NOT_FOUND = -10,     /* no such token, subscription or object */
	FERRY_ERR_QUEUE_FULL = -11,    /* the outbox limit is reached */
	FERRY_ERR_SYSTEM = -12,        /* a system call failed (thread, epoll, eventfd) */
	FERRY_ERR_DROPPED = -13,       /* dropped from a full outbox (drop-oldest policy) */

	/* connection and engine */
	FERRY_ERR_NOT_CONNECTED = -50,     /* the client is not connected */
	FERRY_ERR_CONNECT_REFUSED = -51,   /* the broker refused the connection (see the reason code) */
	FERRY_ERR_CONNECT_TIMEOUT = -52,   /* no CONNACK within the connect timeout */
	FERRY_ERR_DNS = -53,               /* the server name could not be resolved */
	FERRY_ERR_CONNECT = -54,           /* the TCP connection could not be made */
	FERRY_ERR_IO = -55,                /* reading or writing the connection failed */
	FERRY_ERR_CLOSED = -56,            /* the broker closed the connection */
	FERRY_ERR_KEEPALIVE = -57,         /* no answer to PINGREQ within the ping timeout */
	FERRY_ERR_SERVER_DISCONNECT = -58, /* the broker sent DISCONNECT (see the reason code) */
	FERRY_ERR_URI = -59,               /* a server URI is invalid */
	FERRY_ERR_REJECTED = -60,          /* the broker rejected the operation (see the reason code) */
	FERRY_ERR_TAKEOVER = -61,          /* another client with the same id took the session over */
	FERRY_ERR_QOS_NOT_SUPPORTED = -62, /* the broker's Maximum QoS is below the message's (MQTT 5) */
	FERRY_ERR_RETAIN_NOT_SUPPORTED = -63, /* the broker does not keep retained messages (MQTT 5) */
	FERRY_ERR_EXPIRED = -64,           /* the message expired before it could be sent (MQTT 5) */
	FERRY_ERR_SUB_NOT_SUPPORTED = -65, /* the broker allows no wildcard, shared subscription or
	                                      subscription identifier (MQTT 5) */
	FERRY_ERR_AUTH = -66,              /* enhanced authentication failed or was given up (MQTT 5) */

	/* store */
	FERRY_ERR_STORE_IO = -200,         /* the store could not read or write */
	FERRY_ERR_STORE_FULL = -201,       /* the store has no space left */
	FERRY_ERR_STORE_CORRUPT = -202,    /* the store's file is not a valid ferry store */
	FERRY_ERR_STORE_VERSION = -203,    /* the store's schema is newer than this ferry */

	/* transports: TLS, WebSocket, proxies */
	FERRY_ERR_TLS = -250,              /* the TLS handshake or a TLS read/write failed (see the text) */
	FERRY_ERR_TLS_VERIFY = -251,       /* the server's certificate or name failed verification */
	FERRY_ERR_TLS_CONFIG = -252,       /* a CA, certificate, key, CRL or cipher setting could not be used */
	FERRY_ERR_WEBSOCKET = -253,        /* the WebSocket upgrade was refused or a frame broke RFC 6455 */
	FERRY_ERR_PROXY = -254,            /* the proxy refused or failed the tunnel (see the text) */
	FERRY_ERR_PROXY_AUTH = -255,       /* the proxy refused the credentials */

	/* malformed or protocol-violating packets */
	FERRY_ERR_PACKET_TYPE = -100,        /* reserved or unknown control packet type */
	FERRY_ERR_PACKET_DIRECTION = -101,   /* packet type this peer may not send */
	FERRY_ERR_HEADER_FLAGS = -102,       /* reserved fixed-header flag bits are wrong */
	FERRY_ERR_QOS = -103,                /* QoS value 3 */
	FERRY_ERR_DUP_QOS0 = -104,           /* DUP flag set on a QoS 0 PUBLISH */
	FERRY_ERR_VARINT = -105,             /* variable byte integer longer than 4 bytes */
	FERRY_ERR_VARINT_NON_MINIMAL = -106, /* variable byte integer not in its shortest form (MQTT 5) */
	FERRY_ERR_PACKET_TOO_LARGE = -107,   /* packet larger than the maximum packet size */
	FERRY_ERR_TRUNCATED = -108,          /* a field runs past the end of the packet */
	FERRY_ERR_TRAILING_BYTES = -109,     /* bytes left over after the last field */
	FERRY_ERR_REMAINING_LENGTH = -110,   /* remaining length impossible for this packet type */
	FERRY_ERR_UTF8 = -111,               /* string is not well-formed UTF-8 */
	FERRY_ERR_UTF8_NUL = -112,           /* string contains U+0000 */
	FERRY_ERR_TOPIC_NAME = -113,         /* invalid topic name (empty, wildcard, too long) */
	FERRY_ERR_TOPIC_FILTER = -114,       /* invalid topic filter */
	FERRY_ERR_PACKET_ID = -115,          /* packet identifier 0 where one is required */
	FERRY_ERR_PROPERTY_LENGTH = -116,    /* property length beyond the packet, or a truncated property */
	FERRY_ERR_PROPERTY_DUPLICATE = -117, /* a property that may appear once appears twice */
	FERRY_ERR_PROPERTY_NOT_ALLOWED = -118, /* property not allowed in this packet */
	FERRY_ERR_PROPERTY_UNKNOWN = -119,   /* unknown property identifier */
	FERRY_ERR_PROPERTY_VALUE = -120,     /* property value out of range */
	FERRY_ERR_REASON_CODE = -121,        /* reason or return code not valid for this packet */
	FERRY_ERR_EMPTY_PAYLOAD = -122,      /* SUBSCRIBE, UNSUBSCRIBE, SUBACK or UNSUBACK with no entries */
	FERRY_ERR_PROTOCOL_NAME = -123,      /* CONNECT protocol name is not MQTT or MQIsdp */
	FERRY_ERR_PROTOCOL_VERSION = -124,   /* unknown protocol level, or name and level disagree */
	FERRY_ERR_CONNECT_FLAGS = -125,      /* CONNECT flags reserved bit or inconsistent will/password flags */
	FERRY_ERR_CONNACK_FLAGS = -126,      /* CONNACK reserved bits set, or session present with a refusal */
	FERRY_ERR_SUBSCRIPTION_OPTIONS = -127, /* reserved subscription option bits or retain handling 3 */
	FERRY_ERR_CLIENT_ID = -128,          /* client identifier not allowed (3.1: empty or over 23 bytes) */
	FERRY_ERR_TOPIC_ALIAS = -129,        /* topic alias 0, or empty topic without an alias */
	FERRY_ERR_PROTOCOL = -130,           /* any other violation of the protocol's rules */
};

/*
 * ferry_strerror - a short English sentence for an error code.
 * Returns a static string (never NULL, never to be freed); unknown codes give
 * "unknown error". Safe from any thread and from callbacks.
 */
FERRY_API const char *ferry_strerror(int err);

/*
 * ferry_errname - the enumerator's name ("FERRY_ERR_QOS") for logs and tests.
 * Returns a static string; unknown codes give "FERRY_ERR_UNKNOWN".
 * Safe from any thread and from callbacks.
 */
FERRY_API const char *ferry_errname(int err);

#ifdef __cplusplus
}
#endif

#endif
