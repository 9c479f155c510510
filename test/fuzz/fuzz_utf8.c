/*
 * fuzz_utf8.c - ferry__utf8_check against an independent, slow reference.
 *
 * The reference decodes one code point at a time from the bit patterns
 * (110xxxxx, 1110xxxx, 11110xxx lead bytes, 10xxxxxx continuations), then
 * rejects what MQTT forbids by value: overlong forms (below the smallest value
 * of that length), surrogates U+D800..U+DFFF, anything above U+10FFFF, and
 * U+0000. The fast checker decides the same things from byte ranges without
 * decoding, so agreement on every input is a real cross-check: abort() on
 * any disagreement. The input is also checked through a two-byte length
 * prefix with ferry__cur_utf8, which must agree and never read past the end.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "fuzz.h"
#include "utf8.h"

static int ref_check(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t b = s[i];
		uint32_t cp, min;
		size_t len;
		if (b < 0x80u) {
			cp = b;
			len = 1;
			min = 0;
		} else if ((b & 0xE0u) == 0xC0u) {
			cp = b & 0x1Fu;
			len = 2;
			min = 0x80u;
		} else if ((b & 0xF0u) == 0xE0u) {
			cp = b & 0x0Fu;
			len = 3;
			min = 0x800u;
		} else if ((b & 0xF8u) == 0xF0u) {
			cp = b & 0x07u;
			len = 4;
			min = 0x10000u;
		} else {
			return FERRY_ERR_UTF8; /* continuation byte or F8..FF as a lead */
		}
		if (n - i < len)
			return FERRY_ERR_UTF8;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0u) != 0x80u)
				return FERRY_ERR_UTF8;
			cp = cp << 6 | (s[i + k] & 0x3Fu);
		}
		if (cp < min || cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu))
			return FERRY_ERR_UTF8;
		if (cp == 0)
			return FERRY_ERR_UTF8_NUL;
		i += len;
	}
	return FERRY_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy, so ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	int want = ref_check(copy, size);
	if (ferry__utf8_check(size ? copy : NULL, size) != want)
		abort();

	if (size <= 65535u) {
		uint8_t *framed = malloc(size + 2);
		if (!framed) {
			free(copy);
			return 0;
		}
		framed[0] = (uint8_t)(size >> 8);
		framed[1] = (uint8_t)size;
		if (size)
			memcpy(framed + 2, copy, size);
		struct ferry_cursor c;
		struct ferry_bytes out;
		ferry__cur_init(&c, framed, size + 2);
		int rc = ferry__cur_utf8(&c, &out);
		if (rc != want)
			abort();
		if (rc == FERRY_OK && (out.p != framed + 2 || out.len != size || c.p != c.end))
			abort();
		if (rc != FERRY_OK && c.p != framed)
			abort();
		free(framed);
	}
	free(copy);
	return 0;
}
