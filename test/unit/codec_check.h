/*
 * codec_check.h - the field-by-field packet comparison shared by the vectors
 * and roundtrip suites (defined in test_vectors.c).
 */
#ifndef FERRY_TEST_CODEC_CHECK_H
#define FERRY_TEST_CODEC_CHECK_H

#include <stdint.h>

#include "codec.h"

/*
 * test_expect_packet - asserts that `got` (decoded) carries every field of
 * `want` (an encoder input) as protocol `version` transports it: before 5.0
 * no properties and no ack reason codes, and in 3.1 no session present.
 * `what` names the packet in failure messages.
 */
void test_expect_packet(uint8_t version, const struct ferry_packet *want,
                        const struct ferry_packet *got, const char *what);

#endif
