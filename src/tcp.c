/* tcp.c - non-blocking TCP sockets (see tcp.h). */
#include "tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ferry/error.h"

int ferry__tcp_start(const char *host, size_t host_len, uint16_t port, int *fd, char *err,
                     size_t errcap)
{
	char name[256], service[8];
	if (host_len == 0 || host_len >= sizeof name)
		return FERRY_ERR_INVAL;
	memcpy(name, host, host_len);
	name[host_len] = 0;
	snprintf(service, sizeof service, "%u", port);

	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST};
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(name, service, &hints, &ai);
	if (g == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
		g = getaddrinfo(name, service, &hints, &ai);
	}
	if (g) {
		snprintf(err, errcap, "cannot resolve %s: %s", name, gai_strerror(g));
		return FERRY_ERR_DNS;
	}
	int rc = FERRY_ERR_CONNECT;
	int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (s < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		snprintf(err, errcap, "connect to %s:%u: %s", name, port, strerror(errno));
		close(s);
		goto out;
	}
	*fd = s;
	rc = FERRY_OK;
out:
	freeaddrinfo(ai);
	return rc;
}

int ferry__tcp_finish(int fd, char *err, size_t errcap)
{
	int e = 0;
	socklen_t len = sizeof e;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		e = errno;
	if (e) {
		snprintf(err, errcap, "connect: %s", strerror(e));
		return FERRY_ERR_CONNECT;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return FERRY_OK;
}

int ferry__tcp_read(int fd, void *buf, size_t len, size_t *got)
{
	*got = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n > 0) {
			*got = (size_t)n;
			return FERRY_OK;
		}
		if (n == 0)
			return FERRY_ERR_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return FERRY_OK;
		return FERRY_ERR_IO;
	}
}

int ferry__tcp_write(int fd, const void *buf, size_t len, size_t *put)
{
	*put = 0;
	for (;;) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0) {
			*put = (size_t)n;
			return FERRY_OK;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return FERRY_OK;
		return FERRY_ERR_IO;
	}
}
