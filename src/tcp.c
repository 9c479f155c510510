/* tcp.c - non-blocking TCP sockets (see tcp.h). */
#include "tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ferry/error.h"

bool ferry__tcp_numeric(const char *host, size_t host_len, uint16_t port,
                        struct sockaddr_storage *ss, socklen_t *sl)
{
	char name[64];
	if (host_len == 0 || host_len >= sizeof name)
		return false;
	memcpy(name, host, host_len);
	name[host_len] = 0;
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, name, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		*sl = sizeof *v4;
		return true;
	}
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET6, name, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		*sl = sizeof *v6;
		return true;
	}
	return false;
}

int ferry__tcp_connect(const struct sockaddr *sa, socklen_t sl, int *fd, char *err, size_t errcap)
{
	int s = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		return FERRY_ERR_CONNECT;
	}
	if (connect(s, sa, sl) != 0 && errno != EINPROGRESS) {
		snprintf(err, errcap, "connect: %s", strerror(errno));
		close(s);
		return FERRY_ERR_CONNECT;
	}
	*fd = s;
	return FERRY_OK;
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

size_t ferry__tcp_pending(int fd)
{
	int n = 0;
	if (ioctl(fd, FIONREAD, &n) != 0 || n < 0)
		return 0;
	return (size_t)n;
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
