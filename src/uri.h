/*
 * uri.h - server URIs, pure: "tcp://host:port", "mqtt://", "ssl://",
 * "mqtts://", "ws://host:port/path", "wss://", a bare "host:port" or "host"
 * (tcp), IPv6 literals in brackets ("tcp://[::1]:1883"). Default ports: 1883
 * (tcp, mqtt), 8883 (ssl, mqtts), 80 (ws), 443 (wss); default WebSocket path
 * "/mqtt". Scheme names are case-insensitive.
 *
 * Ownership: the parsed views point into the caller's string.
 */
#ifndef FERRY_URI_H
#define FERRY_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ferry_uri_scheme {
	FERRY_URI_TCP = 1,
	FERRY_URI_TLS,
	FERRY_URI_WS,
	FERRY_URI_WSS,
};

struct ferry_uri {
	uint8_t scheme;   /* enum ferry_uri_scheme */
	const char *host; /* without brackets for IPv6; not NUL-terminated */
	size_t host_len;
	uint16_t port;
	const char *path; /* WebSocket path incl. leading '/', not NUL-terminated */
	size_t path_len;
	bool ipv6;        /* host was a bracketed literal */
};

/*
 * ferry__uri_parse - parse a NUL-terminated URI.
 * Returns FERRY_OK, or FERRY_ERR_INVAL (empty or unknown scheme, empty host,
 * bad or zero port, port over 65535, unterminated '[', path on a non-WebSocket
 * URI, user info "user@host" which is not supported: credentials go in options).
 */
int ferry__uri_parse(const char *text, struct ferry_uri *out);

#endif
