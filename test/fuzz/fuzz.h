/*
 * fuzz.h - the libFuzzer entry point every target defines. The same source
 * links either with libFuzzer (--enable-fuzz) or with replay_main.c, which
 * runs the seed corpus through it in make check.
 */
#ifndef FERRY_FUZZ_H
#define FERRY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
