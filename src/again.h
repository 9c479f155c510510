/*
 * again.h - what the transport layers (tls.c, ws.c, tunnel.c, link.c)
 * share: the "try again" return value of their non-blocking steps.
 *
 * Every step of a layer returns FERRY_OK (done), FERRY__AGAIN (not done:
 * wait for the socket as the step says, then call it again), or a negative
 * enum ferry_err with a sentence in the caller's err buffer. FERRY__AGAIN is
 * positive, so it never mixes with the public error codes and never leaves
 * the library.
 *
 * Ownership: nothing here owns anything (a constant only).
 */
#ifndef FERRY_AGAIN_H
#define FERRY_AGAIN_H

#define FERRY__AGAIN 1

#endif
