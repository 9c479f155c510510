/*
 * test_topic_index.c - the subscription trie: put/get/replace/remove/count,
 * pruning of empty nodes, shared filters matching by their inner filter, the
 * '$' rule, early stop, thousands of siblings, 65,000-level filters on a
 * small stack, and agreement with ferry__topic_match over random filters and
 * names (a fixed-seed PRNG, so every run tests the same cases).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/error.h"
#include "suites.h"
#include "topic.h"
#include "topic_index.h"
#include "util.h"

/* Internal, for pruning tests: trie nodes including the root (topic_index.c). */

#define U8(s) ((const uint8_t *)(s))
#define PUT(ix, f, v) ferry__topic_index_put((ix), U8(f), strlen(f), (v))
#define GET(ix, f) ferry__topic_index_get((ix), U8(f), strlen(f))
#define DEL(ix, f, old) ferry__topic_index_remove((ix), U8(f), strlen(f), (old))

/* Values are addresses in this array; the callback counts calls per slot. */
#define NVALS 6000
static int vals[NVALS];

struct seen {
	unsigned calls[NVALS];
	size_t total;
	int stop_after; /* return 9 on this call number (1-based); 0: never */
};

static int count_fn(void *value, void *arg)
{
	struct seen *s = arg;
	size_t i = (size_t)((int *)value - vals);
	CU_ASSERT_FATAL(i < NVALS);
	s->calls[i]++;
	s->total++;
	return s->stop_after && (size_t)s->stop_after == s->total ? 9 : 0;
}

static struct seen *match(struct ferry_topic_index *ix, const char *name)
{
	static struct seen s;
	memset(&s, 0, sizeof s);
	ASSERT_RC(ferry__topic_index_match(ix, U8(name), strlen(name), count_fn, &s), FERRY_OK);
	return &s;
}

/* Records a disagreement between the index and ferry__topic_match. */
static void fail_pair(const char *filter, const char *name, unsigned line)
{
	char msg[256];
	snprintf(msg, sizeof msg, "index and ferry__topic_match disagree: \"%s\" vs \"%s\"", filter,
	         name);
	CU_assertImplementation(CU_FALSE, line, msg, __FILE__, "", CU_FALSE);
}

static struct ferry_topic_index *new_index(void)
{
	struct ferry_topic_index *ix = ferry__topic_index_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(ix);
	return ix;
}

static void test_put_get_replace(void)
{
	struct ferry_topic_index *ix = new_index();
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), 0);
	ASSERT_RC(PUT(ix, "sport/tennis/+", &vals[0]), FERRY_OK);
	ASSERT_RC(PUT(ix, "sport/#", &vals[1]), FERRY_OK);
	ASSERT_RC(PUT(ix, "sport", &vals[2]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$share/g/sport", &vals[3]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$share/h/sport", &vals[4]), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), 5);
	CU_ASSERT_PTR_EQUAL(GET(ix, "sport/tennis/+"), &vals[0]);
	CU_ASSERT_PTR_EQUAL(GET(ix, "sport/#"), &vals[1]);
	CU_ASSERT_PTR_EQUAL(GET(ix, "sport"), &vals[2]);
	CU_ASSERT_PTR_EQUAL(GET(ix, "$share/g/sport"), &vals[3]);
	CU_ASSERT_PTR_EQUAL(GET(ix, "$share/h/sport"), &vals[4]);
	CU_ASSERT_PTR_NULL(GET(ix, "$share/x/sport"));
	CU_ASSERT_PTR_NULL(GET(ix, "sport/tennis"));
	CU_ASSERT_PTR_NULL(GET(ix, "sport/tennis/#"));
	CU_ASSERT_PTR_NULL(GET(ix, "+"));
	CU_ASSERT_PTR_NULL(GET(ix, ""));
	/* Same filter again: the value is replaced, the count unchanged. */
	ASSERT_RC(PUT(ix, "sport/#", &vals[5]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$share/g/sport", &vals[6]), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), 5);
	CU_ASSERT_PTR_EQUAL(GET(ix, "sport/#"), &vals[5]);
	CU_ASSERT_PTR_EQUAL(GET(ix, "$share/g/sport"), &vals[6]);
	struct seen *s = match(ix, "sport");
	CU_ASSERT_EQUAL(s->total, 4); /* sport/#, sport, both shares */
	CU_ASSERT_EQUAL(s->calls[5] + s->calls[2] + s->calls[6] + s->calls[4], 4);
	ferry__topic_index_free(ix);
	ferry__topic_index_free(NULL);
}

static void test_put_errors(void)
{
	struct ferry_topic_index *ix = new_index();
	ASSERT_RC(PUT(ix, "a", &vals[0]), FERRY_OK);
	ASSERT_RC(PUT(ix, "a/b", NULL), FERRY_ERR_INVAL);
	ASSERT_RC(PUT(NULL, "a/b", &vals[1]), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__topic_index_put(ix, NULL, 3, &vals[1]), FERRY_ERR_INVAL);
	ASSERT_RC(PUT(ix, "", &vals[1]), FERRY_ERR_TOPIC_FILTER);
	ASSERT_RC(PUT(ix, "a/#/b", &vals[1]), FERRY_ERR_TOPIC_FILTER);
	ASSERT_RC(PUT(ix, "a+", &vals[1]), FERRY_ERR_TOPIC_FILTER);
	ASSERT_RC(PUT(ix, "a/\xff", &vals[1]), FERRY_ERR_TOPIC_FILTER);
	ASSERT_RC(PUT(ix, "$share/#/a", &vals[1]), FERRY_ERR_TOPIC_FILTER);
	ASSERT_RC(PUT(ix, "$share/g/a#", &vals[1]), FERRY_ERR_TOPIC_FILTER);
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), 1);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 2);
	CU_ASSERT_PTR_EQUAL(GET(ix, "a"), &vals[0]);
	CU_ASSERT_PTR_NULL(GET(NULL, "a"));
	CU_ASSERT_EQUAL(ferry__topic_index_count(NULL), 0);
	ASSERT_RC(ferry__topic_index_match(NULL, U8("a"), 1, count_fn, NULL), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__topic_index_match(ix, U8("a"), 1, NULL, NULL), FERRY_ERR_INVAL);
	CU_ASSERT_EQUAL(match(ix, "")->total, 0);
	ferry__topic_index_free(ix);
}

/* "$share/g" is not of shared shape: an ordinary filter, matched literally. */
static void test_share_lookalikes(void)
{
	struct ferry_topic_index *ix = new_index();
	ASSERT_RC(PUT(ix, "$share/g", &vals[0]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$share/+/a", &vals[1]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$share/g/a", &vals[2]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$share/g/$share/h/a", &vals[3]), FERRY_OK);
	CU_ASSERT_EQUAL(match(ix, "$share/g")->calls[0], 1);
	struct seen *s = match(ix, "$share/x/a");
	CU_ASSERT_EQUAL(s->total, 1);
	CU_ASSERT_EQUAL(s->calls[1], 1);
	s = match(ix, "a");
	CU_ASSERT_EQUAL(s->total, 1);
	CU_ASSERT_EQUAL(s->calls[2], 1);
	s = match(ix, "$share/h/a");
	CU_ASSERT_EQUAL(s->total, 2); /* "$share/+/a" and the inner "$share/h/a" */
	CU_ASSERT_EQUAL(s->calls[1] + s->calls[3], 2);
	ferry__topic_index_free(ix);
}

static void test_remove_and_prune(void)
{
	struct ferry_topic_index *ix = new_index();
	void *old = NULL;
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 1);
	ASSERT_RC(PUT(ix, "a/b/c/d", &vals[0]), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 5);
	ASSERT_RC(PUT(ix, "a/b/x", &vals[1]), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 6);
	ASSERT_RC(DEL(ix, "a/b/c", &old), FERRY_ERR_INVAL); /* a node, but no filter */
	ASSERT_RC(DEL(ix, "a/b/c/d/e", &old), FERRY_ERR_INVAL);
	ASSERT_RC(DEL(ix, "$share/g/a/b/x", &old), FERRY_ERR_INVAL);
	ASSERT_RC(DEL(ix, "", &old), FERRY_ERR_INVAL);
	ASSERT_RC(DEL(NULL, "a", &old), FERRY_ERR_INVAL);
	CU_ASSERT_PTR_NULL(old);
	ASSERT_RC(DEL(ix, "a/b/c/d", &old), FERRY_OK);
	CU_ASSERT_PTR_EQUAL(old, &vals[0]);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 4); /* c and d pruned */
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), 1);
	ASSERT_RC(DEL(ix, "a/b/c/d", &old), FERRY_ERR_INVAL);
	ASSERT_RC(DEL(ix, "a/b/x", NULL), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 1);
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), 0);

	/* A node holding both an ordinary and a shared filter stays until both go. */
	ASSERT_RC(PUT(ix, "$share/g/a/b", &vals[2]), FERRY_OK);
	ASSERT_RC(PUT(ix, "a/b", &vals[3]), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 3);
	ASSERT_RC(DEL(ix, "a/b", &old), FERRY_OK);
	CU_ASSERT_PTR_EQUAL(old, &vals[3]);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 3);
	CU_ASSERT_PTR_EQUAL(GET(ix, "$share/g/a/b"), &vals[2]);
	ASSERT_RC(DEL(ix, "$share/g/a/b", &old), FERRY_OK);
	CU_ASSERT_PTR_EQUAL(old, &vals[2]);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 1);

	/* Wildcard children are pruned too, and an interior filter keeps its node. */
	ASSERT_RC(PUT(ix, "+/+/#", &vals[4]), FERRY_OK);
	ASSERT_RC(PUT(ix, "+", &vals[5]), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 4);
	ASSERT_RC(DEL(ix, "+/+/#", NULL), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 2);
	CU_ASSERT_PTR_EQUAL(GET(ix, "+"), &vals[5]);
	CU_ASSERT_EQUAL(match(ix, "x")->calls[5], 1);
	ASSERT_RC(DEL(ix, "+", NULL), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 1);
	CU_ASSERT_EQUAL(match(ix, "x")->total, 0);
	ferry__topic_index_free(ix);
}

static void test_dollar(void)
{
	struct ferry_topic_index *ix = new_index();
	ASSERT_RC(PUT(ix, "#", &vals[0]), FERRY_OK);
	ASSERT_RC(PUT(ix, "+/monitor/Clients", &vals[1]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$SYS/#", &vals[2]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$share/g/#", &vals[3]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$SYS/monitor/+", &vals[4]), FERRY_OK);
	ASSERT_RC(PUT(ix, "+/+/#", &vals[5]), FERRY_OK);
	struct seen *s = match(ix, "$SYS/monitor/Clients");
	CU_ASSERT_EQUAL(s->total, 2);
	CU_ASSERT_EQUAL(s->calls[2], 1);
	CU_ASSERT_EQUAL(s->calls[4], 1);
	s = match(ix, "SYS/monitor/Clients");
	CU_ASSERT_EQUAL(s->total, 4);
	CU_ASSERT_EQUAL(s->calls[0] + s->calls[1] + s->calls[3] + s->calls[5], 4);
	s = match(ix, "$SYS");
	CU_ASSERT_EQUAL(s->total, 1); /* "$SYS/#" matches its parent level */
	CU_ASSERT_EQUAL(s->calls[2], 1);
	s = match(ix, "a/$b/c");
	CU_ASSERT_EQUAL(s->total, 3); /* '$' matters only first: #, $share/g/#, +/+/# */
	ferry__topic_index_free(ix);
}

static void test_early_stop(void)
{
	struct ferry_topic_index *ix = new_index();
	static struct seen s;
	ASSERT_RC(PUT(ix, "a/#", &vals[0]), FERRY_OK);
	ASSERT_RC(PUT(ix, "+/b", &vals[1]), FERRY_OK);
	ASSERT_RC(PUT(ix, "a/b", &vals[2]), FERRY_OK);
	ASSERT_RC(PUT(ix, "#", &vals[3]), FERRY_OK);
	ASSERT_RC(PUT(ix, "$share/g/a/b", &vals[4]), FERRY_OK);
	for (int stop = 1; stop <= 5; stop++) {
		memset(&s, 0, sizeof s);
		s.stop_after = stop;
		ASSERT_RC(ferry__topic_index_match(ix, U8("a/b"), 3, count_fn, &s), 9);
		CU_ASSERT_EQUAL(s.total, (size_t)stop);
	}
	CU_ASSERT_EQUAL(match(ix, "a/b")->total, 5);
	ferry__topic_index_free(ix);
}

/* 5,000 siblings under one node and 1,000 at the root. */
static void test_siblings(void)
{
	struct ferry_topic_index *ix = new_index();
	char f[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(f, sizeof f, "s/%d", (i * 7919) % 5000); /* not in sorted order */
		ASSERT_RC(PUT(ix, f, &vals[(i * 7919) % 5000]), FERRY_OK);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(f, sizeof f, "r%d", i);
		ASSERT_RC(PUT(ix, f, &vals[5000 + i]), FERRY_OK);
	}
	ASSERT_RC(PUT(ix, "s/+", &vals[NVALS - 1]), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), 6001);
	for (int i = 0; i < 5000; i++) {
		snprintf(f, sizeof f, "s/%d", i);
		CU_ASSERT_PTR_EQUAL(GET(ix, f), &vals[i]);
	}
	struct seen *s = match(ix, "s/4321");
	CU_ASSERT_EQUAL(s->total, 2);
	CU_ASSERT_EQUAL(s->calls[4321], 1);
	CU_ASSERT_EQUAL(s->calls[NVALS - 1], 1);
	CU_ASSERT_EQUAL(match(ix, "r999")->calls[5999], 1);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(f, sizeof f, "s/%d", i);
		ASSERT_RC(DEL(ix, f, NULL), FERRY_OK);
	}
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), 3501);
	CU_ASSERT_EQUAL(match(ix, "s/4320")->total, 1);
	CU_ASSERT_EQUAL(match(ix, "s/4321")->calls[4321], 1);
	for (int i = 1; i < 5000; i += 2) {
		snprintf(f, sizeof f, "s/%d", i);
		CU_ASSERT_PTR_EQUAL(GET(ix, f), &vals[i]);
	}
	ferry__topic_index_free(ix);
}

struct job {
	void (*fn)(void);
};

static void *thread_main(void *arg)
{
	((struct job *)arg)->fn();
	return NULL;
}

/* Runs fn on a thread with a 256 KiB stack: recursion per level would overflow it. */
static void run_on_small_stack(void (*fn)(void))
{
	pthread_attr_t attr;
	pthread_t t;
	struct job job = {fn};
	CU_ASSERT_FATAL(pthread_attr_init(&attr) == 0);
	CU_ASSERT_FATAL(pthread_attr_setstacksize(&attr, 256 * 1024) == 0);
	CU_ASSERT_FATAL(pthread_create(&t, &attr, thread_main, &job) == 0);
	CU_ASSERT(pthread_join(t, NULL) == 0);
	pthread_attr_destroy(&attr);
}

static uint8_t *slashes(size_t n, const char *tail, size_t *len)
{
	size_t tl = strlen(tail);
	uint8_t *b = malloc(n + tl + 1);
	CU_ASSERT_FATAL(b != NULL);
	memset(b, '/', n);
	memcpy(b + n, tail, tl);
	*len = n + tl;
	return b;
}

/* Filters and names of 65,000 levels (64,999 '/'); free with the chains still in. */
static void deep_index(void)
{
	size_t nl, pl, hl, sl;
	uint8_t *name = slashes(64999, "", &nl);
	uint8_t *plus = slashes(64999, "+", &pl);
	uint8_t *hash = slashes(64999, "#", &hl);
	uint8_t *shared = malloc(nl + 9);
	CU_ASSERT_FATAL(shared != NULL);
	memcpy(shared, "$share/g/", 9);
	memcpy(shared + 9, name, nl - 9); /* inner filter: 64,990 slashes */
	sl = nl;
	struct ferry_topic_index *ix = new_index();
	static struct seen s;
	ASSERT_RC(ferry__topic_index_put(ix, name, nl, &vals[0]), FERRY_OK);
	ASSERT_RC(ferry__topic_index_put(ix, plus, pl, &vals[1]), FERRY_OK);
	ASSERT_RC(ferry__topic_index_put(ix, hash, hl, &vals[2]), FERRY_OK);
	ASSERT_RC(ferry__topic_index_put(ix, shared, sl, &vals[3]), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 1 + 65000 + 2);
	memset(&s, 0, sizeof s);
	ASSERT_RC(ferry__topic_index_match(ix, name, nl, count_fn, &s), FERRY_OK);
	CU_ASSERT_EQUAL(s.total, 3);
	CU_ASSERT_EQUAL(s.calls[0] + s.calls[1] + s.calls[2], 3);
	memset(&s, 0, sizeof s);
	ASSERT_RC(ferry__topic_index_match(ix, name, nl - 9, count_fn, &s), FERRY_OK);
	CU_ASSERT_EQUAL(s.total, 1);
	CU_ASSERT_EQUAL(s.calls[3], 1);
	CU_ASSERT_PTR_EQUAL(ferry__topic_index_get(ix, hash, hl), &vals[2]);
	ASSERT_RC(ferry__topic_index_remove(ix, name, nl, NULL), FERRY_OK);
	ASSERT_RC(ferry__topic_index_remove(ix, plus, pl, NULL), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 1 + 65000);
	ASSERT_RC(ferry__topic_index_remove(ix, hash, hl, NULL), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 1 + 64991);
	ASSERT_RC(ferry__topic_index_remove(ix, shared, sl, NULL), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 1);
	/* free, not remove, tears down a full-depth chain */
	ASSERT_RC(ferry__topic_index_put(ix, hash, hl, &vals[2]), FERRY_OK);
	ASSERT_RC(ferry__topic_index_put(ix, plus, pl, &vals[1]), FERRY_OK);
	ferry__topic_index_free(ix);
	free(name);
	free(plus);
	free(hash);
	free(shared);
}

static void test_deep(void)
{
	run_on_small_stack(deep_index);
}

/* --- random filters against ferry__topic_match -------------------------- */

static uint64_t rng_state;

static uint32_t rng(uint32_t n) /* xorshift64*, uniform enough for tests */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

static void random_topic(char *out, size_t cap, bool filter)
{
	static const char *const lv[] = {"a", "b", "", "$x", "a b", "+"};
	size_t o = 0;
	uint32_t depth = 1 + rng(4);
	if (filter && rng(5) == 0)
		o += (size_t)snprintf(out, cap, "$share/g%u/", rng(2));
	for (uint32_t d = 0; d < depth; d++) {
		const char *l = lv[rng(filter ? 6 : 5)];
		if (filter && d + 1 == depth && rng(4) == 0)
			l = "#";
		if (depth == 1 && !*l)
			l = "a"; /* an empty string is neither a name nor a filter */
		o += (size_t)snprintf(out + o, cap - o, "%s%s", d ? "/" : "", l);
	}
}

#define NRAND 400

static void check_against_brute_force(struct ferry_topic_index *ix, char (*filters)[64],
                                      const bool *live)
{
	char name[64];
	for (int t = 0; t < 300; t++) {
		random_topic(name, sizeof name, false);
		ASSERT_RC(ferry__topic_name_check(U8(name), strlen(name)), FERRY_OK);
		struct seen *s = match(ix, name);
		size_t want = 0;
		for (int i = 0; i < NRAND; i++) {
			bool m = live[i] && ferry__topic_match(U8(filters[i]), strlen(filters[i]),
			                                       U8(name), strlen(name));
			want += m;
			if (s->calls[i] != (unsigned)m) {
				fail_pair(filters[i], name, __LINE__);
				break;
			}
		}
		CU_ASSERT_EQUAL(s->total, want);
	}
}

static void test_random_vs_match(void)
{
	static char filters[NRAND][64];
	static bool live[NRAND];
	struct ferry_topic_index *ix = new_index();
	rng_state = 0x9E3779B97F4A7C15ULL;
	size_t distinct = 0;
	for (int i = 0; i < NRAND; i++) {
		random_topic(filters[i], sizeof filters[i], true);
		ASSERT_RC(ferry__topic_filter_check(U8(filters[i]), strlen(filters[i]), true), FERRY_OK);
		ASSERT_RC(PUT(ix, filters[i], &vals[i]), FERRY_OK);
		live[i] = true; /* a repeat replaces the earlier value */
		for (int k = 0; k < i; k++)
			if (live[k] && strcmp(filters[k], filters[i]) == 0)
				live[k] = false;
		distinct += 1;
	}
	for (int i = 0; i < NRAND; i++)
		distinct -= !live[i];
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), distinct);
	CU_ASSERT(distinct > 100); /* the generator really makes varied filters */
	check_against_brute_force(ix, filters, live);
	for (int i = 0; i < NRAND; i++) {
		if (live[i] && rng(2)) {
			void *old = NULL;
			ASSERT_RC(DEL(ix, filters[i], &old), FERRY_OK);
			CU_ASSERT_PTR_EQUAL(old, &vals[i]);
			live[i] = false;
		}
	}
	check_against_brute_force(ix, filters, live);
	for (int i = 0; i < NRAND; i++)
		if (live[i])
			ASSERT_RC(DEL(ix, filters[i], NULL), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__topic_index_count(ix), 0);
	CU_ASSERT_EQUAL(ferry__topic_index_nodes(ix), 1);
	ferry__topic_index_free(ix);
}

void register_topic_index_suite(void)
{
	CU_pSuite s = test_suite("topic_index");
	test_add(s, "put, get, replace, count", test_put_get_replace);
	test_add(s, "put rejects bad arguments and filters", test_put_errors);
	test_add(s, "$share look-alikes are ordinary filters", test_share_lookalikes);
	test_add(s, "remove and pruning", test_remove_and_prune);
	test_add(s, "'$' topics and leading wildcards", test_dollar);
	test_add(s, "early stop when fn returns non-zero", test_early_stop);
	test_add(s, "thousands of siblings", test_siblings);
	test_add(s, "65,000 levels on a small stack", test_deep);
	test_add(s, "random filters agree with ferry__topic_match", test_random_vs_match);
}
