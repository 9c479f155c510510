/*
 * topic_index.h - a subscription index: a trie of topic filters, one level
 * per node, that finds every subscription matching a topic name. Used to
 * route an arrived message to per-subscription callbacks.
 *
 * Pure: no I/O, threads or clock; not thread-safe (the caller locks). It
 * allocates its nodes. Insert, remove, match and free use no recursion: stack
 * use is constant however many levels a filter has (65,000 levels are fine).
 *
 * Ownership: the index copies filter bytes; `value` pointers are the caller's
 * and are never dereferenced or freed by the index.
 *
 * Invariants: a node exists only while it or a descendant holds a value;
 * each node holds at most one value per filter (inserting the same filter
 * again replaces its value). Shared filters ("$share/g/f") are indexed by
 * their full text, so the same inner filter in two groups gives two entries,
 * and they match by the inner filter.
 */
#ifndef FERRY_TOPIC_INDEX_H
#define FERRY_TOPIC_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct ferry_topic_index;

/* Returns a new empty index, or NULL when out of memory. */
struct ferry_topic_index *ferry__topic_index_new(void);
/* Frees the index and its nodes (NULL is fine). */
void ferry__topic_index_free(struct ferry_topic_index *ix);

/*
 * ferry__topic_index_put - associate `value` (not NULL) with a valid filter;
 * replaces a previous value for the same filter.
 * Returns FERRY_OK, FERRY_ERR_INVAL, FERRY_ERR_TOPIC_FILTER (invalid filter)
 * or FERRY_ERR_NOMEM (the index is unchanged then).
 */
int ferry__topic_index_put(struct ferry_topic_index *ix, const uint8_t *filter, size_t len,
                           void *value);

/*
 * ferry__topic_index_get - the value stored for exactly this filter, or NULL.
 */
void *ferry__topic_index_get(const struct ferry_topic_index *ix, const uint8_t *filter,
                             size_t len);

/*
 * ferry__topic_index_remove - remove the filter; *old (if not NULL) receives
 * its value. Returns FERRY_OK, or FERRY_ERR_INVAL if the filter is not there.
 */
int ferry__topic_index_remove(struct ferry_topic_index *ix, const uint8_t *filter, size_t len,
                              void **old);

/* Number of filters stored. */
size_t ferry__topic_index_count(const struct ferry_topic_index *ix);

/* Number of trie nodes, the root included (1 when empty): shows that removal
 * prunes empty nodes. */
size_t ferry__topic_index_nodes(const struct ferry_topic_index *ix);

/*
 * ferry__topic_index_match - call fn(value, arg) once for each stored filter
 * that matches the topic name (in no particular order). fn returning non-zero
 * stops the walk and that value is returned; otherwise returns FERRY_OK,
 * FERRY_ERR_NOMEM if working memory could not be had (no call is made then),
 * or FERRY_ERR_INVAL (NULL index or fn, NULL name with a length).
 * fn must not modify the index.
 */
int ferry__topic_index_match(const struct ferry_topic_index *ix, const uint8_t *name, size_t len,
                             int (*fn)(void *value, void *arg), void *arg);

#endif
