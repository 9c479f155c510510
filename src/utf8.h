/*
 * utf8.h - validation of MQTT UTF-8 strings (MQTT 3.1.1 1.5.3, MQTT 5.0 1.5.4).
 *
 * Pure: no I/O, no allocation. A string is valid when it is well-formed UTF-8
 * (shortest form, no code point above U+10FFFF, no surrogates U+D800..U+DFFF)
 * and contains no U+0000. Control characters and non-characters are allowed
 * (the specifications let a receiver accept them).
 */
#ifndef FERRY_UTF8_H
#define FERRY_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * ferry__utf8_check - validate len bytes at s (s may be NULL when len is 0).
 * Returns FERRY_OK, FERRY_ERR_UTF8 (ill-formed) or FERRY_ERR_UTF8_NUL.
 * Runs in O(len) time and O(1) stack.
 */
int ferry__utf8_check(const uint8_t *s, size_t len);

#endif
