/*
 * topic.h - MQTT topic names and filters: validation and matching
 * (MQTT 3.1.1 section 4.7, MQTT 5.0 sections 4.7 and 4.8.2).
 *
 * Pure: no I/O, no allocation, no clock; iterative (constant stack), linear
 * time in the lengths, so a 65,535-byte topic of 65,000 levels is cheap.
 *
 * Rules:
 *  - A topic name is 1..65,535 bytes of valid MQTT UTF-8 without '+' or '#'.
 *  - A topic filter is 1..65,535 bytes of valid MQTT UTF-8; '+' must fill a
 *    whole level; '#' must fill the last level.
 *  - A shared subscription filter is "$share/{group}/{filter}": the group is
 *    at least one byte and holds no '/', '+' or '#'; the filter is a valid
 *    filter. Shared filters are accepted only when `allow_shared` is true.
 *  - Matching: a filter starting with '+' or '#' does not match a topic name
 *    starting with '$'. "a/#" matches "a" as well as "a/b".
 */
#ifndef FERRY_TOPIC_H
#define FERRY_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_TOPIC_MAX 65535u

/* Returns FERRY_OK, FERRY_ERR_TOPIC_NAME, FERRY_ERR_UTF8 or FERRY_ERR_UTF8_NUL. */
int ferry__topic_name_check(const uint8_t *name, size_t len);

/* Returns FERRY_OK, FERRY_ERR_TOPIC_FILTER, FERRY_ERR_UTF8 or FERRY_ERR_UTF8_NUL. */
int ferry__topic_filter_check(const uint8_t *filter, size_t len, bool allow_shared);

/*
 * ferry__topic_shared_split - if filter is "$share/{group}/{rest}", set the
 * group and rest views and return true; otherwise return false. Does not
 * validate (call ferry__topic_filter_check first).
 */
bool ferry__topic_shared_split(const uint8_t *filter, size_t len, const uint8_t **group,
                               size_t *group_len, const uint8_t **rest, size_t *rest_len);

/*
 * ferry__topic_match - does a valid filter match a valid topic name?
 * A shared filter matches by its inner filter.
 */
bool ferry__topic_match(const uint8_t *filter, size_t flen, const uint8_t *name, size_t nlen);

#endif
