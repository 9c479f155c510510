/*
 * tcp.h - the socket layer of the transport: non-blocking TCP connect, read
 * and write. The only place (with tls.c and ws.c to come) that touches
 * sockets.
 *
 * Return values are specified: reads and writes never block; "0 bytes" means
 * "not now", never a closed connection (that is FERRY_ERR_CLOSED).
 */
#ifndef FERRY_TCP_H
#define FERRY_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * ferry__tcp_numeric - if host (host_len bytes, not NUL-terminated) is an
 * IPv4 or IPv6 literal, store it with port in ss (length in sl) and return true.
 */
bool ferry__tcp_numeric(const char *host, size_t host_len, uint16_t port,
                        struct sockaddr_storage *ss, socklen_t *sl);

/*
 * ferry__tcp_connect - start a non-blocking connect to an address. On FERRY_OK
 * *fd is a non-blocking, close-on-exec socket whose connect is in progress
 * (wait for it to become writable, then call ferry__tcp_finish). Error:
 * FERRY_ERR_CONNECT with `err` (errcap bytes) set to a sentence.
 */
int ferry__tcp_connect(const struct sockaddr *sa, socklen_t sl, int *fd, char *err, size_t errcap);

/* ferry__tcp_finish - the outcome of the connect: FERRY_OK or FERRY_ERR_CONNECT
 * (with `err` set). Also turns Nagle off. */
int ferry__tcp_finish(int fd, char *err, size_t errcap);

/* Bytes received by the kernel and not yet read (0 on error). */
size_t ferry__tcp_pending(int fd);

/* Reads up to len bytes: FERRY_OK with *got >= 0 (0: nothing now), FERRY_ERR_CLOSED
 * at end of stream, FERRY_ERR_IO on error. */
int ferry__tcp_read(int fd, void *buf, size_t len, size_t *got);

/* Writes up to len bytes: FERRY_OK with *put >= 0 (0: the socket is full),
 * FERRY_ERR_IO on error (the peer reset or closed). Never raises SIGPIPE. */
int ferry__tcp_write(int fd, const void *buf, size_t len, size_t *put);

#endif
