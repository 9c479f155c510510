/*
 * base64.c - RFC 4648 base64 encoding (see base64.h). Pure.
 */
#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t ferry__base64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t need = FERRY_BASE64_LEN(n);
	if (n > ((size_t)-1 - 3u) / 4u * 3u || cap < need + 1u) {
		if (cap)
			out[0] = 0;
		return 0;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63u];
		out[o++] = alphabet[(v >> 12) & 63u];
		out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63u] : '=';
		out[o++] = i + 2 < n ? alphabet[v & 63u] : '=';
	}
	out[o] = 0;
	return o;
}
