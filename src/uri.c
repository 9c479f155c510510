/*
 * uri.c - server URI parsing (grammar in uri.h).
 *
 *   uri       = [ scheme "://" ] authority [ path ]
 *   authority = host [ ":" port ] | "[" ipv6 "]" [ ":" port ]
 *   path      = "/" *(visible ASCII)             (ws and wss only)
 *
 * Decisions beyond uri.h:
 *  - A bare "host" or "host:port" is tcp; "scheme:host" without "//" is read
 *    as host "scheme" and port "host", which is not a number: rejected.
 *  - Host names are ASCII letters, digits, '-', '.' and '_'; anything else
 *    (spaces, '%', '?', '#', non-ASCII) is rejected rather than passed to the
 *    resolver. An unbracketed host with a second ':' (a bare IPv6 literal) is
 *    rejected: "[::1]" is the unambiguous form.
 *  - A bracketed literal holds hex digits, ':' and '.' and at least one ':',
 *    optionally followed by a zone "%name" (letters, digits, '-', '.', '_').
 *  - The port is decimal digits only, 1..65535; leading zeros are accepted.
 *    An empty port ("host:") is rejected.
 *  - A WebSocket path runs to the end of the text (a query is kept); it may
 *    not contain spaces or control bytes, which would break the HTTP request
 *    line. "ws://host" gets "/mqtt"; "ws://host/" keeps "/".
 *  - *out is written only on success.
 */
#include "uri.h"

#include <string.h>

#include "ferry/error.h"

struct scheme_def {
	const char *name;
	uint8_t scheme;
	uint16_t port;
};

/* clang-format off */
static const struct scheme_def schemes[] = {
	{"tcp", FERRY_URI_TCP, 1883},
	{"mqtt", FERRY_URI_TCP, 1883},
	{"ssl", FERRY_URI_TLS, 8883},
	{"mqtts", FERRY_URI_TLS, 8883},
	{"ws", FERRY_URI_WS, 80},
	{"wss", FERRY_URI_WSS, 443},
};
/* clang-format on */

static const char default_ws_path[] = "/mqtt";

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	char l = lower(c);
	return is_digit(c) || (l >= 'a' && l <= 'z');
}

static bool is_hex(char c)
{
	char l = lower(c);
	return is_digit(c) || (l >= 'a' && l <= 'f');
}

static bool is_name_char(char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_';
}

/* The scheme named by text[0..len), case-insensitively, or NULL. */
static const struct scheme_def *find_scheme(const char *text, size_t len)
{
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		const char *n = schemes[i].name;
		if (strlen(n) != len)
			continue;
		size_t k = 0;
		while (k < len && lower(text[k]) == n[k])
			k++;
		if (k == len)
			return &schemes[i];
	}
	return NULL;
}

/* Decimal port in p[0..len): 1..65535. */
static int parse_port(const char *p, size_t len, uint16_t *port)
{
	uint32_t v = 0;
	if (len == 0)
		return FERRY_ERR_INVAL;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(p[i]))
			return FERRY_ERR_INVAL;
		v = v * 10u + (uint32_t)(p[i] - '0');
		if (v > 65535u)
			return FERRY_ERR_INVAL;
	}
	if (v == 0)
		return FERRY_ERR_INVAL;
	*port = (uint16_t)v;
	return FERRY_OK;
}

/* The inside of "[...]": an IPv6 literal with an optional zone. */
static int check_ipv6(const char *p, size_t len)
{
	size_t i = 0;
	bool colon = false;
	for (; i < len && p[i] != '%'; i++) {
		if (p[i] == ':')
			colon = true;
		else if (!is_hex(p[i]) && p[i] != '.')
			return FERRY_ERR_INVAL;
	}
	if (!colon)
		return FERRY_ERR_INVAL;
	if (i < len) { /* zone: "%" and at least one name character */
		if (i + 1 == len)
			return FERRY_ERR_INVAL;
		for (i++; i < len; i++)
			if (!is_name_char(p[i]))
				return FERRY_ERR_INVAL;
	}
	return FERRY_OK;
}

/* Host (and port, if any) in a[0..len); the port stays untouched when absent. */
static int parse_authority(const char *a, size_t len, struct ferry_uri *u)
{
	size_t host_end;
	const char *rest;
	if (len > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', len);
		if (!close)
			return FERRY_ERR_INVAL;
		u->host = a + 1;
		u->host_len = (size_t)(close - a) - 1;
		u->ipv6 = true;
		if (u->host_len == 0 || check_ipv6(u->host, u->host_len))
			return FERRY_ERR_INVAL;
		host_end = (size_t)(close - a) + 1;
	} else {
		host_end = 0;
		while (host_end < len && a[host_end] != ':')
			host_end++;
		u->host = a;
		u->host_len = host_end;
		if (host_end == 0)
			return FERRY_ERR_INVAL;
		for (size_t i = 0; i < host_end; i++)
			if (!is_name_char(a[i]))
				return FERRY_ERR_INVAL;
	}
	rest = a + host_end;
	if (host_end == len)
		return FERRY_OK;
	if (rest[0] != ':')
		return FERRY_ERR_INVAL;
	return parse_port(rest + 1, len - host_end - 1, &u->port);
}

/* A WebSocket path: '/' then visible ASCII only. */
static int check_path(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f)
			return FERRY_ERR_INVAL;
	}
	return FERRY_OK;
}

int ferry__uri_parse(const char *text, struct ferry_uri *out)
{
	struct ferry_uri u = {.scheme = FERRY_URI_TCP, .port = 1883};
	const char *a = text;
	if (!text || !out || !*text)
		return FERRY_ERR_INVAL;
	const char *sep = strstr(text, "://");
	if (sep) {
		const struct scheme_def *d = find_scheme(text, (size_t)(sep - text));
		if (!d)
			return FERRY_ERR_INVAL;
		u.scheme = d->scheme;
		u.port = d->port;
		a = sep + 3;
	}
	size_t alen = strcspn(a, "/@");
	if (a[alen] == '@')
		return FERRY_ERR_INVAL; /* user info: credentials belong in the options */
	int rc = parse_authority(a, alen, &u);
	if (rc)
		return rc;
	bool ws = u.scheme == FERRY_URI_WS || u.scheme == FERRY_URI_WSS;
	const char *path = a + alen;
	size_t plen = strlen(path);
	if (plen > 0 && !ws)
		return FERRY_ERR_INVAL;
	if (check_path(path, plen))
		return FERRY_ERR_INVAL;
	if (ws && plen == 0) {
		path = default_ws_path;
		plen = sizeof default_ws_path - 1;
	}
	if (ws) {
		u.path = path;
		u.path_len = plen;
	}
	*out = u;
	return FERRY_OK;
}
