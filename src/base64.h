/*
 * base64.h - RFC 4648 base64 encoding (standard alphabet, '=' padding), pure:
 * the WebSocket key and accept check (RFC 6455) and HTTP basic
 * authentication (RFC 7617) use it.
 *
 * Ownership: input and output are the caller's; nothing is allocated.
 */
#ifndef FERRY_BASE64_H
#define FERRY_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes, without the terminating NUL. */
#define FERRY_BASE64_LEN(n) ((((n) + 2u) / 3u) * 4u)

/*
 * ferry__base64_encode - encode n bytes into out (cap bytes, room for
 * FERRY_BASE64_LEN(n) + 1); NUL-terminates. Returns the length written
 * (without the NUL), or 0 when cap is too small (out is then "" if cap > 0).
 */
size_t ferry__base64_encode(const uint8_t *in, size_t n, char *out, size_t cap);

#endif
