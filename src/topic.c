/*
 * topic.c - MQTT topic names and filters: validation and matching
 * (MQTT 3.1.1 section 4.7; MQTT 5.0 sections 4.7 and 4.8.2).
 *
 * Everything here is a single forward scan: level boundaries are found with
 * memchr, every byte is looked at a bounded number of times, and no function
 * recurses, so a 65,535-byte topic of 65,000 levels costs O(len) time and O(1)
 * stack. The bytes '/', '+', '#' and '$' never occur inside a multi-byte UTF-8
 * sequence, so scanning bytes is scanning characters.
 *
 * Decisions the header leaves open:
 *  - Checks run in this order: length (FERRY_ERR_TOPIC_NAME/FILTER), UTF-8
 *    (FERRY_ERR_UTF8, FERRY_ERR_UTF8_NUL), then the wildcard rules. A string
 *    that breaks several rules gets the first error in that order.
 *  - "Shared shape": ferry__topic_shared_split accepts "$share/G/R" only when
 *    G is at least one byte without '/', '+' or '#' and R is at least one
 *    byte. Anything else starting with "$share/" ("$share/g", "$share//a",
 *    "$share/g/", "$share/+/a") is not shared: with allow_shared it is an
 *    invalid filter, without allow_shared it is an ordinary filter.
 *  - ferry__topic_match does not know the protocol version: a filter of shared
 *    shape always matches by its inner filter R (once; R is not split again).
 *    A filter like "$share/g" that is valid only as an ordinary filter matches
 *    literally.
 *  - A valid shared filter is always a valid ordinary filter too (G holds no
 *    wildcard, and R is checked by the same rules), so validity without
 *    allow_shared is the union of both modes; the topic index relies on this.
 */
#include "topic.h"

#include <string.h>

#include "ferry/error.h"
#include "utf8.h"

#define SHARE_PREFIX "$share/"
#define SHARE_PREFIX_LEN 7u

/* One past the last byte of the level starting at i: the next '/' or len. */
static size_t level_end(const uint8_t *s, size_t i, size_t len)
{
	const uint8_t *slash = i < len ? memchr(s + i, '/', len - i) : NULL;
	return slash ? (size_t)(slash - s) : len;
}

static bool has_share_prefix(const uint8_t *s, size_t len)
{
	return len >= SHARE_PREFIX_LEN && memcmp(s, SHARE_PREFIX, SHARE_PREFIX_LEN) == 0;
}

static bool has_wildcard(const uint8_t *s, size_t len)
{
	return len > 0 && (memchr(s, '+', len) || memchr(s, '#', len));
}

/*
 * The wildcard rules of a filter (no length or UTF-8 check): a level holding
 * '+' or '#' is exactly that one byte, and a '#' level is the last level.
 */
static bool filter_levels_ok(const uint8_t *f, size_t len)
{
	size_t i = 0;
	for (;;) {
		size_t e = level_end(f, i, len);
		if (has_wildcard(f + i, e - i)) {
			if (e - i != 1)
				return false;
			if (f[i] == '#' && e != len)
				return false;
		}
		if (e == len)
			return true;
		i = e + 1;
	}
}

int ferry__topic_name_check(const uint8_t *name, size_t len)
{
	if (!name || len == 0 || len > FERRY_TOPIC_MAX)
		return FERRY_ERR_TOPIC_NAME;
	int rc = ferry__utf8_check(name, len);
	if (rc)
		return rc;
	if (has_wildcard(name, len))
		return FERRY_ERR_TOPIC_NAME;
	return FERRY_OK;
}

int ferry__topic_filter_check(const uint8_t *filter, size_t len, bool allow_shared)
{
	if (!filter || len == 0 || len > FERRY_TOPIC_MAX)
		return FERRY_ERR_TOPIC_FILTER;
	int rc = ferry__utf8_check(filter, len);
	if (rc)
		return rc;
	if (allow_shared && has_share_prefix(filter, len)) {
		const uint8_t *group, *rest;
		size_t group_len, rest_len;
		if (!ferry__topic_shared_split(filter, len, &group, &group_len, &rest, &rest_len))
			return FERRY_ERR_TOPIC_FILTER;
		filter = rest;
		len = rest_len;
	}
	return filter_levels_ok(filter, len) ? FERRY_OK : FERRY_ERR_TOPIC_FILTER;
}

bool ferry__topic_shared_split(const uint8_t *filter, size_t len, const uint8_t **group,
                               size_t *group_len, const uint8_t **rest, size_t *rest_len)
{
	if (!filter || !has_share_prefix(filter, len))
		return false;
	size_t e = level_end(filter, SHARE_PREFIX_LEN, len);
	size_t glen = e - SHARE_PREFIX_LEN;
	if (glen == 0 || e + 1 >= len) /* empty group, no '/' after it, or empty rest */
		return false;
	if (has_wildcard(filter + SHARE_PREFIX_LEN, glen))
		return false;
	if (group)
		*group = filter + SHARE_PREFIX_LEN;
	if (group_len)
		*group_len = glen;
	if (rest)
		*rest = filter + e + 1;
	if (rest_len)
		*rest_len = len - e - 1;
	return true;
}

/*
 * Walks filter and name level by level, once. '+' takes one name level
 * (possibly empty); '#' takes all the rest; a name that ends one level early
 * still matches a filter whose remaining part is "/#" ("a/#" matches "a").
 */
bool ferry__topic_match(const uint8_t *filter, size_t flen, const uint8_t *name, size_t nlen)
{
	const uint8_t *inner;
	size_t inner_len;
	if (ferry__topic_shared_split(filter, flen, NULL, NULL, &inner, &inner_len)) {
		filter = inner;
		flen = inner_len;
	}
	if (!filter || !name || flen == 0 || nlen == 0)
		return false;
	if (name[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
		return false;
	size_t i = 0, j = 0;
	for (;;) {
		size_t fe = level_end(filter, i, flen);
		size_t ne = level_end(name, j, nlen);
		size_t fl = fe - i;
		if (fl == 1 && filter[i] == '#')
			return true;
		if (!(fl == 1 && filter[i] == '+')) {
			if (fl != ne - j || (fl && memcmp(filter + i, name + j, fl) != 0))
				return false;
		}
		if (fe == flen)
			return ne == nlen;
		if (ne == nlen)
			return flen - fe == 2 && filter[fe + 1] == '#';
		i = fe + 1;
		j = ne + 1;
	}
}
