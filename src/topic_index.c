/*
 * topic_index.c - the subscription index: a trie of topic filters.
 *
 * Shape. One node per filter level. The root stands for "before the first
 * level"; the node reached by the levels L1/L2/.../Lk of a filter is that
 * filter's node. Each node has:
 *   - kids:   literal children, a sorted array of (level bytes, child) slots,
 *             ordered by level length, then bytes (memcmp). Lookup is a binary
 *             search, so thousands of siblings cost O(log n) per level; insert
 *             and erase shift the array (memmove), which is cheap next to the
 *             allocation they go with. A sorted array was chosen over a hash
 *             table for its compactness and its lack of hashing and resizing.
 *   - plus, hash: the '+' and '#' children, one pointer each (O(1)). A '#'
 *             node never has children ('#' is always the last level).
 *   - value:  the value of the ordinary filter whose node this is, or NULL.
 *   - shares: the shared filters "$share/G/F" whose INNER filter F ends here,
 *             a sorted array of (owned copy of G, value) slots. A shared filter
 *             is therefore found by walking its inner filter, and it matches
 *             exactly where F matches (the '$' rule included); two groups on
 *             the same F are two slots of one node.
 * "Shared" means the shape accepted by ferry__topic_shared_split (see
 * topic.c). Put accepts any filter valid without allow_shared, which is the
 * union of what both protocol modes accept, so "$share/g" (valid in MQTT
 * 3.1.1 as an ordinary filter) is stored and matched literally, exactly as
 * ferry__topic_match treats it.
 *
 * Invariants (hold between calls):
 *   I1 every node except the root holds a value (value != NULL or shares.n
 *      > 0) or has a child; remove prunes nodes that stop holding anything,
 *      bottom-up, and a failed put prunes the nodes it created;
 *   I2 a literal child's key is never "+" or "#" (put validates filters);
 *   I3 ix->count is the number of (ordinary values + share slots) and
 *      ix->nodes the number of nodes including the root;
 *   I4 every node's parent pointer is its parent (NULL for the root).
 *
 * Ownership. The index owns its nodes, each node's level bytes (stored in the
 * node) and each share slot's group copy. Values are the caller's: stored and
 * handed back, never dereferenced or freed.
 *
 * Threads. Get, count and match only read the index (match's working memory
 * is its own), so concurrent readers are safe under a shared lock; put,
 * remove and free need the lock exclusively.
 *
 * Stack. Nothing recurses: put, get and remove walk down a loop, pruning
 * walks up parent pointers, free detaches one child at a time and climbs
 * back through parents, and match keeps its frontier (the nodes whose
 * filter prefix matches the name so far) in heap arrays.
 */
#include "topic_index.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/error.h"
#include "topic.h"


struct slot {
	const uint8_t *key; /* kids: points at the child's level; shares: owned group copy */
	size_t len;
	void *ptr; /* kids: struct node *; shares: the caller's value */
};

struct slots {
	struct slot *v; /* sorted by key_cmp; NULL when n == 0 */
	size_t n, cap;
};

struct node {
	struct node *parent; /* NULL for the root */
	struct node *plus;   /* the '+' child or NULL */
	struct node *hash;   /* the '#' child or NULL; has no children itself */
	struct slots kids;   /* literal children */
	struct slots shares; /* shared filters whose inner filter ends here */
	void *value;         /* the ordinary filter ending here, or NULL */
	size_t len;          /* length of level[] (literal children only) */
	uint8_t level[];     /* this node's level bytes */
};

struct ferry_topic_index {
	struct node *root;
	size_t count; /* stored filters */
	size_t nodes; /* nodes, root included */
};

/* Splits a string into '/'-separated levels; "" has one empty level. */
struct levels {
	const uint8_t *s;
	size_t len, pos;
	bool done;
};

static bool next_level(struct levels *it, const uint8_t **lv, size_t *lvlen)
{
	if (it->done)
		return false;
	const uint8_t *start = it->s + it->pos;
	size_t left = it->len - it->pos;
	const uint8_t *slash = left ? memchr(start, '/', left) : NULL;
	*lv = start;
	*lvlen = slash ? (size_t)(slash - start) : left;
	if (slash)
		it->pos += *lvlen + 1;
	else
		it->done = true;
	return true;
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return alen ? memcmp(a, b, alen) : 0;
}

/* True and *pos = its index when key is present; else false and *pos = where it goes. */
static bool slots_find(const struct slots *s, const uint8_t *key, size_t len, size_t *pos)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(s->v[mid].key, s->v[mid].len, key, len);
		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

static int slots_insert(struct slots *s, size_t pos, const uint8_t *key, size_t len, void *ptr)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct slot *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return FERRY_ERR_NOMEM;
		s->v = v;
		s->cap = cap;
	}
	memmove(s->v + pos + 1, s->v + pos, (s->n - pos) * sizeof *s->v);
	s->v[pos] = (struct slot){.key = key, .len = len, .ptr = ptr};
	s->n++;
	return FERRY_OK;
}

static void slots_erase(struct slots *s, size_t pos)
{
	memmove(s->v + pos, s->v + pos + 1, (s->n - pos - 1) * sizeof *s->v);
	if (--s->n == 0) {
		free(s->v);
		s->v = NULL;
		s->cap = 0;
	}
}

static struct node *node_new(struct ferry_topic_index *ix, struct node *parent,
                             const uint8_t *level, size_t len)
{
	struct node *n = calloc(1, sizeof *n + len);
	if (!n)
		return NULL;
	n->parent = parent;
	n->len = len;
	if (len)
		memcpy(n->level, level, len);
	ix->nodes++;
	return n;
}

/* Frees one node and what it owns (not its children). */
static void node_free(struct ferry_topic_index *ix, struct node *n)
{
	for (size_t i = 0; i < n->shares.n; i++)
		free((void *)(uintptr_t)n->shares.v[i].key);
	free(n->shares.v);
	free(n->kids.v);
	free(n);
	ix->nodes--;
}

static bool node_holds(const struct node *n)
{
	return n->value || n->shares.n;
}

static bool node_unused(const struct node *n)
{
	return !node_holds(n) && !n->kids.n && !n->plus && !n->hash;
}

/* The wildcard pointer a filter level selects, or NULL for a literal level. */
static struct node **wild_child(struct node *n, const uint8_t *lv, size_t lvlen)
{
	if (lvlen == 1 && lv[0] == '+')
		return &n->plus;
	if (lvlen == 1 && lv[0] == '#')
		return &n->hash;
	return NULL;
}

/* The child a filter level leads to, or NULL. */
static struct node *child_find(const struct node *n, const uint8_t *lv, size_t lvlen)
{
	size_t pos;
	if (lvlen == 1 && lv[0] == '+')
		return n->plus;
	if (lvlen == 1 && lv[0] == '#')
		return n->hash;
	return slots_find(&n->kids, lv, lvlen, &pos) ? n->kids.v[pos].ptr : NULL;
}

/* The child a filter level leads to, created when missing. */
static int child_get(struct ferry_topic_index *ix, struct node *n, const uint8_t *lv, size_t lvlen,
                     struct node **out)
{
	size_t pos;
	struct node **wild = wild_child(n, lv, lvlen);
	if (wild) {
		if (!*wild)
			*wild = node_new(ix, n, NULL, 0);
		*out = *wild;
		return *out ? FERRY_OK : FERRY_ERR_NOMEM;
	}
	if (slots_find(&n->kids, lv, lvlen, &pos)) {
		*out = n->kids.v[pos].ptr;
		return FERRY_OK;
	}
	struct node *c = node_new(ix, n, lv, lvlen);
	if (!c)
		return FERRY_ERR_NOMEM;
	if (slots_insert(&n->kids, pos, c->level, lvlen, c)) {
		node_free(ix, c);
		return FERRY_ERR_NOMEM;
	}
	*out = c;
	return FERRY_OK;
}

/* Unlinks child c from its parent (I4 says which). */
static void detach(struct node *c)
{
	struct node *p = c->parent;
	size_t pos;
	if (p->plus == c)
		p->plus = NULL;
	else if (p->hash == c)
		p->hash = NULL;
	else if (slots_find(&p->kids, c->level, c->len, &pos))
		slots_erase(&p->kids, pos);
}

/* Restores I1 upward from n: frees unused nodes until one is in use or the root. */
static void prune(struct ferry_topic_index *ix, struct node *n)
{
	while (n->parent && node_unused(n)) {
		struct node *p = n->parent;
		detach(n);
		node_free(ix, n);
		n = p;
	}
}

struct ferry_topic_index *ferry__topic_index_new(void)
{
	struct ferry_topic_index *ix = calloc(1, sizeof *ix);
	if (!ix)
		return NULL;
	ix->root = node_new(ix, NULL, NULL, 0);
	if (!ix->root) {
		free(ix);
		return NULL;
	}
	return ix;
}

/* Detaches and returns one child of n, or NULL when it has none. */
static struct node *take_child(struct node *n)
{
	struct node *c = NULL;
	if (n->plus) {
		c = n->plus;
		n->plus = NULL;
	} else if (n->hash) {
		c = n->hash;
		n->hash = NULL;
	} else if (n->kids.n) {
		c = n->kids.v[--n->kids.n].ptr;
	}
	return c;
}

void ferry__topic_index_free(struct ferry_topic_index *ix)
{
	if (!ix)
		return;
	struct node *n = ix->root;
	while (n) {
		struct node *c = take_child(n);
		if (c) {
			n = c;
			continue;
		}
		struct node *p = n->parent;
		node_free(ix, n);
		n = p;
	}
	free(ix);
}

/* Where a (valid) filter is stored: its inner filter's levels and, if shared, the group. */
struct target {
	const uint8_t *levels, *group;
	size_t levels_len, group_len;
	bool shared;
};

static struct target target_of(const uint8_t *filter, size_t len)
{
	struct target t = {.levels = filter, .levels_len = len};
	t.shared = ferry__topic_shared_split(filter, len, &t.group, &t.group_len, &t.levels,
	                                     &t.levels_len);
	return t;
}

/* The node of an existing filter, or NULL. */
static struct node *filter_node(const struct ferry_topic_index *ix, const struct target *t)
{
	struct levels it = {.s = t->levels, .len = t->levels_len};
	const uint8_t *lv;
	size_t lvlen;
	struct node *n = ix->root;
	while (n && next_level(&it, &lv, &lvlen))
		n = child_find(n, lv, lvlen);
	return n;
}

static int share_put(struct ferry_topic_index *ix, struct node *n, const struct target *t,
                     void *value)
{
	size_t pos;
	if (slots_find(&n->shares, t->group, t->group_len, &pos)) {
		n->shares.v[pos].ptr = value;
		return FERRY_OK;
	}
	uint8_t *copy = malloc(t->group_len);
	if (!copy)
		return FERRY_ERR_NOMEM;
	memcpy(copy, t->group, t->group_len);
	if (slots_insert(&n->shares, pos, copy, t->group_len, value)) {
		free(copy);
		return FERRY_ERR_NOMEM;
	}
	ix->count++;
	return FERRY_OK;
}

int ferry__topic_index_put(struct ferry_topic_index *ix, const uint8_t *filter, size_t len,
                           void *value)
{
	if (!ix || !value || (!filter && len))
		return FERRY_ERR_INVAL;
	if (ferry__topic_filter_check(filter, len, false))
		return FERRY_ERR_TOPIC_FILTER;
	struct target t = target_of(filter, len);
	struct levels it = {.s = t.levels, .len = t.levels_len};
	const uint8_t *lv;
	size_t lvlen;
	struct node *n = ix->root;
	int rc = FERRY_OK;
	while (next_level(&it, &lv, &lvlen)) {
		struct node *c;
		rc = child_get(ix, n, lv, lvlen, &c);
		if (rc)
			goto out;
		n = c;
	}
	if (t.shared) {
		rc = share_put(ix, n, &t, value);
	} else {
		if (!n->value)
			ix->count++;
		n->value = value;
	}
out:
	if (rc)
		prune(ix, n); /* frees the nodes this call created, and only those (I1) */
	return rc;
}

void *ferry__topic_index_get(const struct ferry_topic_index *ix, const uint8_t *filter,
                             size_t len)
{
	if (!ix || !filter || len == 0)
		return NULL;
	struct target t = target_of(filter, len);
	const struct node *n = filter_node(ix, &t);
	size_t pos;
	if (!n)
		return NULL;
	if (!t.shared)
		return n->value;
	return slots_find(&n->shares, t.group, t.group_len, &pos) ? n->shares.v[pos].ptr : NULL;
}

int ferry__topic_index_remove(struct ferry_topic_index *ix, const uint8_t *filter, size_t len,
                              void **old)
{
	if (!ix || !filter || len == 0)
		return FERRY_ERR_INVAL;
	struct target t = target_of(filter, len);
	struct node *n = filter_node(ix, &t);
	size_t pos;
	void *v;
	if (!n)
		return FERRY_ERR_INVAL;
	if (!t.shared) {
		if (!n->value)
			return FERRY_ERR_INVAL;
		v = n->value;
		n->value = NULL;
	} else {
		if (!slots_find(&n->shares, t.group, t.group_len, &pos))
			return FERRY_ERR_INVAL;
		v = n->shares.v[pos].ptr;
		free((void *)(uintptr_t)n->shares.v[pos].key);
		slots_erase(&n->shares, pos);
	}
	ix->count--;
	prune(ix, n);
	if (old)
		*old = v;
	return FERRY_OK;
}

size_t ferry__topic_index_count(const struct ferry_topic_index *ix)
{
	return ix ? ix->count : 0;
}

/*
 * ferry__topic_index_nodes - the number of trie nodes, root included (1 for
 * an empty index, 0 for NULL). For tests of pruning.
 */
size_t ferry__topic_index_nodes(const struct ferry_topic_index *ix)
{
	return ix ? ix->nodes : 0;
}

/* A growable array of node pointers (the match frontier and its hits). */
struct nodevec {
	const struct node **v;
	size_t n, cap;
};

static int nodevec_push(struct nodevec *nv, const struct node *n)
{
	if (nv->n == nv->cap) {
		size_t cap = nv->cap ? nv->cap * 2 : 16;
		const struct node **v = realloc(nv->v, cap * sizeof *v);
		if (!v)
			return FERRY_ERR_NOMEM;
		nv->v = v;
		nv->cap = cap;
	}
	nv->v[nv->n++] = n;
	return FERRY_OK;
}

/*
 * One level of the walk: for each frontier node, a '#' child matches the
 * rest of the name (hit), and the '+' child and the literal child equal to
 * the level continue into the next frontier. At the first level of a '$'
 * name, wildcards do not apply.
 */
static int match_level(const struct nodevec *cur, struct nodevec *next, struct nodevec *hits,
                       const uint8_t *lv, size_t lvlen, bool wild)
{
	int rc = FERRY_OK;
	next->n = 0;
	for (size_t i = 0; i < cur->n && !rc; i++) {
		const struct node *n = cur->v[i];
		size_t pos;
		if (wild && n->hash)
			rc = nodevec_push(hits, n->hash);
		if (!rc && wild && n->plus)
			rc = nodevec_push(next, n->plus);
		if (!rc && slots_find(&n->kids, lv, lvlen, &pos))
			rc = nodevec_push(next, n->kids.v[pos].ptr);
	}
	return rc;
}

/* Nodes the whole name reached: their own filters, and "x/#" matching "x". */
static int match_end(const struct nodevec *cur, struct nodevec *hits)
{
	int rc = FERRY_OK;
	for (size_t i = 0; i < cur->n && !rc; i++) {
		if (node_holds(cur->v[i]))
			rc = nodevec_push(hits, cur->v[i]);
		if (!rc && cur->v[i]->hash)
			rc = nodevec_push(hits, cur->v[i]->hash);
	}
	return rc;
}

static int report(const struct nodevec *hits, int (*fn)(void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < hits->n; i++) {
		const struct node *n = hits->v[i];
		int r = n->value ? fn(n->value, arg) : 0;
		for (size_t k = 0; !r && k < n->shares.n; k++)
			r = fn(n->shares.v[k].ptr, arg);
		if (r)
			return r;
	}
	return FERRY_OK;
}

/*
 * Two phases so that running out of memory makes no call: collect the nodes
 * whose filters match (each node reached once: its depth and path are fixed
 * by the name, so no node enters a frontier twice), then report them.
 */
int ferry__topic_index_match(const struct ferry_topic_index *ix, const uint8_t *name, size_t len,
                             int (*fn)(void *value, void *arg), void *arg)
{
	if (!ix || !fn || (!name && len))
		return FERRY_ERR_INVAL;
	if (len == 0)
		return FERRY_OK;
	struct nodevec a = {0}, b = {0}, hits = {0};
	struct nodevec *cur = &a, *next = &b;
	struct levels it = {.s = name, .len = len};
	const uint8_t *lv;
	size_t lvlen;
	bool wild = name[0] != '$';
	int rc = nodevec_push(cur, ix->root);
	while (!rc && cur->n && next_level(&it, &lv, &lvlen)) {
		rc = match_level(cur, next, &hits, lv, lvlen, wild);
		struct nodevec *t = cur;
		cur = next;
		next = t;
		wild = true;
	}
	if (!rc)
		rc = match_end(cur, &hits);
	if (!rc)
		rc = report(&hits, fn, arg);
	free(a.v);
	free(b.v);
	free(hits.v);
	return rc;
}
