/*
 * tunnel.h - opening a tunnel through a proxy, pure: the HTTP CONNECT
 * exchange (RFC 9110 section 9.3.6, basic authentication RFC 7617) and the
 * SOCKS5 one (RFC 1928, username/password RFC 1929). No I/O: the caller
 * sends what ferry__tunnel_output gives and feeds what the proxy answers
 * to ferry__tunnel_input, until the tunnel is up; then the socket is a
 * plain byte stream to the server.
 *
 * Ownership: the struct is the caller's (no allocation inside); strings are
 * copied into it at init. Not thread-safe (the send thread drives it).
 */
#ifndef FERRY_TUNNEL_H
#define FERRY_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ferry_tunnel_state {
	FERRY_TUNNEL_SEND = 1, /* output pending */
	FERRY_TUNNEL_RECV,     /* waiting for the proxy */
	FERRY_TUNNEL_UP,       /* the tunnel is open */
	FERRY_TUNNEL_FAILED,
};

struct ferry_tunnel {
	int type;            /* enum ferry_proxy_type (FERRY_PROXY_HTTP or _SOCKS5) */
	int state;           /* enum ferry_tunnel_state */
	int step;            /* position in the exchange (tunnel.c) */
	uint8_t out[1024];   /* bytes to send */
	size_t out_len, out_sent;
	uint8_t in[2048];    /* bytes received and not yet understood */
	size_t in_len;
	char host[256];      /* the server to reach */
	uint16_t port;
	char user[256];      /* "" = no authentication */
	char pass[256];
	int http_status;     /* HTTP: the proxy's status code; SOCKS5: the CONNECT reply
	                        code (0 = succeeded) */
};

/*
 * ferry__tunnel_init - start an exchange to reach host:port (host_len
 * bytes: a name, an IPv4 literal, or an IPv6 literal without brackets)
 * through a proxy of `type`. user/pass NULL: no authentication.
 * FERRY_ERR_INVAL: unknown type, host over 255 bytes, user or password over
 * 255 bytes.
 */
int ferry__tunnel_init(struct ferry_tunnel *t, int type, const char *host, size_t host_len,
                       uint16_t port, const char *user, const char *pass);

/* The bytes to send now (*len 0: none, wait for the proxy). */
void ferry__tunnel_output(const struct ferry_tunnel *t, const uint8_t **out, size_t *len);

/* n of those bytes were sent. */
void ferry__tunnel_sent(struct ferry_tunnel *t, size_t n);

/*
 * ferry__tunnel_input - bytes read from the proxy. Returns FERRY__AGAIN
 * (more needed, or output to send: check ferry__tunnel_output), FERRY_OK
 * (the tunnel is up: *used of the n bytes were the proxy's, the rest are
 * the server's and belong to the next layer), or FERRY_ERR_PROXY_AUTH (the
 * proxy refused the credentials, or wants some: HTTP 407, SOCKS5 method
 * 0xFF or a failed login) or FERRY_ERR_PROXY (anything else: an HTTP status
 * other than 2xx, a SOCKS5 failure reply, a malformed answer), with a
 * sentence in err naming the proxy's status or reply code.
 */
int ferry__tunnel_input(struct ferry_tunnel *t, const uint8_t *in, size_t n, size_t *used,
                        char *err, size_t errcap);

#endif
