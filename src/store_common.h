/*
 * store_common.h - checks every built-in store shares (store.c), so the
 * memory and SQLite stores refuse exactly the same input.
 *
 * Ownership: the checks only read what they are given.
 */
#ifndef FERRY_STORE_COMMON_H
#define FERRY_STORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <ferry/store.h>

/* ferry__store_changes_valid - whether n >= 1 changes may be applied: states
 * SENT, RELEASED (both with a packet id) or ACKED, tokens not 0. */
bool ferry__store_changes_valid(const struct ferry_store_change *changes, size_t n);

#endif
