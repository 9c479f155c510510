/*
 * error.c - names and texts of enum ferry_err.
 * One table, so a new code cannot get a name without a text or the reverse.
 */
#include <stddef.h>

#include "ferry/error.h"

struct err_text {
	int code;
	const char *name;
	const char *text;
};

#define E(code, text) {code, #code, text}
static const struct err_text errs[] = {
	E(FERRY_OK, "success"),
	E(FERRY_ERR_INVAL, "invalid argument"),
	E(FERRY_ERR_NOMEM, "out of memory"),
	E(FERRY_ERR_BUFFER_SIZE, "output buffer too small"),
	E(FERRY_ERR_STATE, "operation not valid in the current state"),
	E(FERRY_ERR_TIMEOUT, "timed out"),
	E(FERRY_ERR_UNSUPPORTED, "not supported"),
	E(FERRY_ERR_STRING_TOO_LONG, "string or binary field longer than 65535 bytes"),
	E(FERRY_ERR_CANCELLED, "operation cancelled"),
	E(FERRY_ERR_IN_CALLBACK, "blocking call not allowed from a ferry callback"),
	E(FERRY_ERR_NOT_FOUND, "not found"),
	E(FERRY_ERR_QUEUE_FULL, "outbox limit reached"),
	E(FERRY_ERR_SYSTEM, "system call failed"),
	E(FERRY_ERR_DROPPED, "dropped from a full outbox"),
	E(FERRY_ERR_NOT_CONNECTED, "not connected"),
	E(FERRY_ERR_CONNECT_REFUSED, "connection refused by the broker"),
	E(FERRY_ERR_CONNECT_TIMEOUT, "connect timed out"),
	E(FERRY_ERR_DNS, "server name could not be resolved"),
	E(FERRY_ERR_CONNECT, "TCP connection failed"),
	E(FERRY_ERR_IO, "connection read or write failed"),
	E(FERRY_ERR_CLOSED, "connection closed by the broker"),
	E(FERRY_ERR_KEEPALIVE, "keepalive timeout: no answer to PINGREQ"),
	E(FERRY_ERR_SERVER_DISCONNECT, "broker sent DISCONNECT"),
	E(FERRY_ERR_URI, "invalid server URI"),
	E(FERRY_ERR_REJECTED, "operation rejected by the broker"),
	E(FERRY_ERR_QOS_NOT_SUPPORTED, "the broker does not accept this QoS"),
	E(FERRY_ERR_RETAIN_NOT_SUPPORTED, "the broker does not accept retained messages"),
	E(FERRY_ERR_EXPIRED, "the message expired before it could be sent"),
	E(FERRY_ERR_SUB_NOT_SUPPORTED,
	  "the broker allows no wildcard, shared subscription or subscription identifier here"),
	E(FERRY_ERR_AUTH, "enhanced authentication failed"),
	E(FERRY_ERR_TAKEOVER, "another client with the same id took the session over"),
	E(FERRY_ERR_TLS, "TLS failed"),
	E(FERRY_ERR_TLS_VERIFY, "TLS certificate verification failed"),
	E(FERRY_ERR_TLS_CONFIG, "TLS settings could not be used"),
	E(FERRY_ERR_WEBSOCKET, "WebSocket upgrade refused or protocol error"),
	E(FERRY_ERR_PROXY, "proxy refused or failed the tunnel"),
	E(FERRY_ERR_PROXY_AUTH, "proxy refused the credentials"),
	E(FERRY_ERR_STORE_IO, "store read or write failed"),
	E(FERRY_ERR_STORE_FULL, "store is full (no space left)"),
	E(FERRY_ERR_STORE_CORRUPT, "store file is corrupt or not a ferry store"),
	E(FERRY_ERR_STORE_VERSION, "store schema is newer than this version of ferry"),
	E(FERRY_ERR_PACKET_TYPE, "malformed packet: reserved or unknown packet type"),
	E(FERRY_ERR_PACKET_DIRECTION, "protocol error: packet type not allowed from this peer"),
	E(FERRY_ERR_HEADER_FLAGS, "malformed packet: reserved fixed-header flags are wrong"),
	E(FERRY_ERR_QOS, "malformed packet: QoS 3"),
	E(FERRY_ERR_DUP_QOS0, "malformed packet: DUP flag set on a QoS 0 PUBLISH"),
	E(FERRY_ERR_VARINT, "malformed packet: variable byte integer longer than 4 bytes"),
	E(FERRY_ERR_VARINT_NON_MINIMAL, "malformed packet: variable byte integer not in shortest form"),
	E(FERRY_ERR_PACKET_TOO_LARGE, "packet larger than the maximum packet size"),
	E(FERRY_ERR_TRUNCATED, "malformed packet: a field runs past the end of the packet"),
	E(FERRY_ERR_TRAILING_BYTES, "malformed packet: bytes left over after the last field"),
	E(FERRY_ERR_REMAINING_LENGTH, "malformed packet: remaining length impossible for this packet type"),
	E(FERRY_ERR_UTF8, "malformed packet: string is not well-formed UTF-8"),
	E(FERRY_ERR_UTF8_NUL, "malformed packet: string contains U+0000"),
	E(FERRY_ERR_TOPIC_NAME, "invalid topic name"),
	E(FERRY_ERR_TOPIC_FILTER, "invalid topic filter"),
	E(FERRY_ERR_PACKET_ID, "protocol error: packet identifier 0"),
	E(FERRY_ERR_PROPERTY_LENGTH, "malformed packet: property length beyond the packet"),
	E(FERRY_ERR_PROPERTY_DUPLICATE, "protocol error: property repeated"),
	E(FERRY_ERR_PROPERTY_NOT_ALLOWED, "protocol error: property not allowed in this packet"),
	E(FERRY_ERR_PROPERTY_UNKNOWN, "malformed packet: unknown property identifier"),
	E(FERRY_ERR_PROPERTY_VALUE, "protocol error: property value out of range"),
	E(FERRY_ERR_REASON_CODE, "malformed packet: reason code not valid for this packet"),
	E(FERRY_ERR_EMPTY_PAYLOAD, "protocol error: packet has no topic filters or reason codes"),
	E(FERRY_ERR_PROTOCOL_NAME, "malformed packet: unknown protocol name"),
	E(FERRY_ERR_PROTOCOL_VERSION, "unsupported or inconsistent protocol version"),
	E(FERRY_ERR_CONNECT_FLAGS, "malformed packet: invalid CONNECT flags"),
	E(FERRY_ERR_CONNACK_FLAGS, "malformed packet: invalid CONNACK flags"),
	E(FERRY_ERR_SUBSCRIPTION_OPTIONS, "malformed packet: invalid subscription options"),
	E(FERRY_ERR_CLIENT_ID, "client identifier not allowed"),
	E(FERRY_ERR_TOPIC_ALIAS, "protocol error: invalid topic alias"),
	E(FERRY_ERR_PROTOCOL, "protocol error"),
};
#undef E

static const struct err_text *find(int code)
{
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
		if (errs[i].code == code)
			return &errs[i];
	return NULL;
}

const char *ferry_strerror(int err)
{
	const struct err_text *e = find(err);
	return e ? e->text : "unknown error";
}

const char *ferry_errname(int err)
{
	const struct err_text *e = find(err);
	return e ? e->name : "FERRY_ERR_UNKNOWN";
}
