/*
 * dump.h - a readable one-line text form of a decoded packet, for logs, the
 * demo and test failure messages.
 *
 * Pure: no I/O, no allocation; writes into the caller's buffer.
 */
#ifndef FERRY_DUMP_H
#define FERRY_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/*
 * ferry__packet_dump - format `p` (decoded or about to be encoded for
 * `version`) as text like
 *   PUBLISH qos=1 dup=0 retain=0 id=10 topic="a/b" payload=5 bytes "hello"
 * into buf (cap bytes, always NUL-terminated when cap > 0; truncated text
 * ends in "..."). Returns the length the full text would have, like snprintf.
 */
size_t ferry__packet_dump(uint8_t version, const struct ferry_packet *p, char *buf, size_t cap);

#endif
