/*
 * utf8.c - validation of MQTT UTF-8 strings.
 *
 * Well-formed UTF-8 per RFC 3629 / Unicode table 3-7: the second byte's range
 * depends on the first (E0: A0..BF, ED: 80..9F excludes surrogates, F0: 90..BF,
 * F4: 80..8F), which rules out overlong forms, surrogates and code points above
 * U+10FFFF without decoding. C0, C1 and F5..FF never appear.
 */
#include "utf8.h"

#include <string.h>

#include "ferry/error.h"

/* Whether the 8 bytes at p are all ASCII and none is 0. */
static int ascii8(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
	return ((w | ((w - ones) & ~w)) & highs) == 0;
}

int ferry__utf8_check(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (len - i >= 8 && ascii8(s + i)) {
			i += 8; /* fast path: topics are mostly ASCII */
			continue;
		}
		uint8_t b = s[i];
		if (b < 0x80u) {
			if (b == 0)
				return FERRY_ERR_UTF8_NUL;
			i++;
			continue;
		}
		size_t n;           /* continuation bytes */
		uint8_t lo = 0x80u; /* allowed range of the second byte */
		uint8_t hi = 0xBFu;
		if (b >= 0xC2u && b <= 0xDFu) {
			n = 1;
		} else if (b >= 0xE0u && b <= 0xEFu) {
			n = 2;
			if (b == 0xE0u)
				lo = 0xA0u;
			else if (b == 0xEDu)
				hi = 0x9Fu;
		} else if (b >= 0xF0u && b <= 0xF4u) {
			n = 3;
			if (b == 0xF0u)
				lo = 0x90u;
			else if (b == 0xF4u)
				hi = 0x8Fu;
		} else {
			return FERRY_ERR_UTF8;
		}
		if (len - i <= n)
			return FERRY_ERR_UTF8;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return FERRY_ERR_UTF8;
		for (size_t k = 2; k <= n; k++)
			if ((s[i + k] & 0xC0u) != 0x80u)
				return FERRY_ERR_UTF8;
		i += n + 1;
	}
	return FERRY_OK;
}
