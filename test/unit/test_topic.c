/*
 * test_topic.c - topic name and filter validation and matching (MQTT 3.1.1
 * section 4.7, MQTT 5.0 sections 4.7 and 4.8.2): the specification's
 * examples, the '$' rule, shared subscriptions, invalid UTF-8, and topics at
 * the size limit (65,535 bytes, 65,000 levels) checked on a small stack.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/error.h"
#include "suites.h"
#include "topic.h"
#include "util.h"

#define U8(s) ((const uint8_t *)(s))

/* Records a failed table case, naming it (as text and hex). */
static void fail_case(const char *what, const char *s, unsigned line)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s: \"%s\" (%s)", what, s, test_tohex(U8(s), strlen(s)));
	CU_assertImplementation(CU_FALSE, line, msg, __FILE__, "", CU_FALSE);
}

struct name_case {
	const char *s;
	int want;
};

static const struct name_case name_cases[] = {
	{"sport/tennis/player1", FERRY_OK},
	{"sport", FERRY_OK},
	{"/", FERRY_OK},
	{"//", FERRY_OK},
	{"/finance", FERRY_OK},
	{"finance/", FERRY_OK},
	{"$SYS/broker/load", FERRY_OK},
	{"$share/g/a", FERRY_OK},
	{"sport tennis", FERRY_OK},
	{"ACCOUNTS", FERRY_OK},
	{"\xe2\x82\xac/\xc3\xbc", FERRY_OK},      /* euro sign, u-umlaut */
	{"\xef\xbf\xbf", FERRY_OK},               /* U+FFFF: a non-character, allowed */
	{"\xf4\x8f\xbf\xbf", FERRY_OK},           /* U+10FFFF */
	{"\x01\x7f", FERRY_OK},                   /* control characters are allowed */
	{"", FERRY_ERR_TOPIC_NAME},
	{"+", FERRY_ERR_TOPIC_NAME},
	{"#", FERRY_ERR_TOPIC_NAME},
	{"a+", FERRY_ERR_TOPIC_NAME},
	{"a#b", FERRY_ERR_TOPIC_NAME},
	{"sport/#", FERRY_ERR_TOPIC_NAME},
	{"sport/+/player1", FERRY_ERR_TOPIC_NAME},
	{"\xc0\x80", FERRY_ERR_UTF8},             /* overlong NUL */
	{"a/\xed\xa0\x80", FERRY_ERR_UTF8},       /* surrogate U+D800 */
	{"\xe2\x82", FERRY_ERR_UTF8},             /* truncated sequence */
	{"\xf4\x90\x80\x80", FERRY_ERR_UTF8},     /* above U+10FFFF */
	{"\xf5\x80\x80\x80", FERRY_ERR_UTF8},
	{"a/\xff", FERRY_ERR_UTF8},
	{"+\x80", FERRY_ERR_UTF8},                /* UTF-8 is checked before wildcards */
};

struct filter_case {
	const char *s;
	bool shared; /* allow_shared */
	int want;
};

static const struct filter_case filter_cases[] = {
	/* MQTT 3.1.1 / 5.0 section 4.7.1 examples */
	{"sport/tennis/player1/#", false, FERRY_OK},
	{"sport/#", false, FERRY_OK},
	{"#", false, FERRY_OK},
	{"sport/tennis#", false, FERRY_ERR_TOPIC_FILTER},
	{"sport/tennis/#/ranking", false, FERRY_ERR_TOPIC_FILTER},
	{"+", false, FERRY_OK},
	{"+/tennis/#", false, FERRY_OK},
	{"sport+", false, FERRY_ERR_TOPIC_FILTER},
	{"sport/+/player1", false, FERRY_OK},
	{"/+", false, FERRY_OK},
	{"+/+", false, FERRY_OK},
	{"$SYS/#", false, FERRY_OK},
	{"$SYS/monitor/+", false, FERRY_OK},
	{"sport/tennis/player1", false, FERRY_OK},
	/* more wildcard placement */
	{"/#", false, FERRY_OK},
	{"a//#", false, FERRY_OK},
	{"+/#", false, FERRY_OK},
	{"/", false, FERRY_OK},
	{"//", false, FERRY_OK},
	{"\xe2\x82\xac/+/\xc3\xbc/#", false, FERRY_OK},
	{"", false, FERRY_ERR_TOPIC_FILTER},
	{"", true, FERRY_ERR_TOPIC_FILTER},
	{"##", false, FERRY_ERR_TOPIC_FILTER},
	{"++", false, FERRY_ERR_TOPIC_FILTER},
	{"a/++", false, FERRY_ERR_TOPIC_FILTER},
	{"+a", false, FERRY_ERR_TOPIC_FILTER},
	{"#/", false, FERRY_ERR_TOPIC_FILTER},
	{"#/+", false, FERRY_ERR_TOPIC_FILTER},
	{"a/b+", false, FERRY_ERR_TOPIC_FILTER},
	{"a/#b", false, FERRY_ERR_TOPIC_FILTER},
	{"a/b#/c", false, FERRY_ERR_TOPIC_FILTER},
	{"+#", false, FERRY_ERR_TOPIC_FILTER},
	/* shared subscriptions (MQTT 5.0 section 4.8.2) */
	{"$share/consumer1/sport/tennis/+", true, FERRY_OK},
	{"$share/consumer1/sport/tennis/+", false, FERRY_OK},
	{"$share/g/#", true, FERRY_OK},
	{"$share/g/+/x/#", true, FERRY_OK},
	{"$share/g//", true, FERRY_OK},
	{"$share/g/$share/h/a", true, FERRY_OK},
	{"$share/g", true, FERRY_ERR_TOPIC_FILTER},
	{"$share/g", false, FERRY_OK},
	{"$share//a", true, FERRY_ERR_TOPIC_FILTER},
	{"$share//a", false, FERRY_OK},
	{"$share/g/", true, FERRY_ERR_TOPIC_FILTER},
	{"$share/g/", false, FERRY_OK},
	{"$share/", true, FERRY_ERR_TOPIC_FILTER},
	{"$share/", false, FERRY_OK},
	{"$share/+/a", true, FERRY_ERR_TOPIC_FILTER},
	{"$share/+/a", false, FERRY_OK},
	{"$share/#/a", true, FERRY_ERR_TOPIC_FILTER},
	{"$share/#/a", false, FERRY_ERR_TOPIC_FILTER},
	{"$share/g+/a", true, FERRY_ERR_TOPIC_FILTER},
	{"$share/g/a#", true, FERRY_ERR_TOPIC_FILTER},
	{"$share/g/#/a", true, FERRY_ERR_TOPIC_FILTER},
	{"$share", true, FERRY_OK},
	{"$sharex/g/a", true, FERRY_OK},
	/* UTF-8 */
	{"a/\xc0\x80", false, FERRY_ERR_UTF8},
	{"+/\xed\xa0\x80", false, FERRY_ERR_UTF8},
	{"$share/g\xff/a", true, FERRY_ERR_UTF8},
	{"sport+\xe2", false, FERRY_ERR_UTF8},
};

static void test_name_table(void)
{
	for (size_t i = 0; i < sizeof name_cases / sizeof name_cases[0]; i++) {
		const struct name_case *c = &name_cases[i];
		int got = ferry__topic_name_check(U8(c->s), strlen(c->s));
		if (got != c->want)
			fail_case("name case", c->s, __LINE__);
		ASSERT_RC(got, c->want);
	}
}

static void test_filter_table(void)
{
	for (size_t i = 0; i < sizeof filter_cases / sizeof filter_cases[0]; i++) {
		const struct filter_case *c = &filter_cases[i];
		int got = ferry__topic_filter_check(U8(c->s), strlen(c->s), c->shared);
		if (got != c->want)
			fail_case("filter case", c->s, __LINE__);
		ASSERT_RC(got, c->want);
	}
}

/* U+0000 cannot sit in a C string literal: these are written as hex. */
static void test_nul(void)
{
	uint8_t b[16];
	size_t n = test_hex("61 00 62", b, sizeof b); /* "a\0b" */
	ASSERT_RC(ferry__topic_name_check(b, n), FERRY_ERR_UTF8_NUL);
	ASSERT_RC(ferry__topic_filter_check(b, n, false), FERRY_ERR_UTF8_NUL);
	n = test_hex("00", b, sizeof b);
	ASSERT_RC(ferry__topic_name_check(b, n), FERRY_ERR_UTF8_NUL);
	n = test_hex("73 2f 23 00", b, sizeof b); /* "s/#\0" */
	ASSERT_RC(ferry__topic_filter_check(b, n, true), FERRY_ERR_UTF8_NUL);
	n = test_hex("2b 00", b, sizeof b); /* "+\0": checked before the wildcard rule */
	ASSERT_RC(ferry__topic_name_check(b, n), FERRY_ERR_UTF8_NUL);
	n = test_hex("24 73 68 61 72 65 2f 00 2f 61", b, sizeof b); /* "$share/\0/a" */
	ASSERT_RC(ferry__topic_filter_check(b, n, true), FERRY_ERR_UTF8_NUL);
	ASSERT_RC(ferry__topic_name_check(NULL, 0), FERRY_ERR_TOPIC_NAME);
	ASSERT_RC(ferry__topic_filter_check(NULL, 0, true), FERRY_ERR_TOPIC_FILTER);
}

static void check_split(const char *f, bool want, const char *group, const char *rest)
{
	const uint8_t *g = NULL, *r = NULL;
	size_t glen = 0, rlen = 0;
	bool got = ferry__topic_shared_split(U8(f), strlen(f), &g, &glen, &r, &rlen);
	if (got != want)
		fail_case("shared split", f, __LINE__);
	if (!got || !want)
		return;
	CU_ASSERT(g == U8(f) + 7);
	CU_ASSERT_EQUAL(glen, strlen(group));
	CU_ASSERT_NSTRING_EQUAL(g, group, strlen(group));
	CU_ASSERT(r == g + glen + 1);
	CU_ASSERT_EQUAL(rlen, strlen(rest));
	CU_ASSERT_NSTRING_EQUAL(r, rest, strlen(rest));
}

static void test_shared_split(void)
{
	check_split("$share/consumer1/sport/tennis/+", true, "consumer1", "sport/tennis/+");
	check_split("$share/g/#", true, "g", "#");
	check_split("$share/g//", true, "g", "/");
	check_split("$share/g/$share/h/a", true, "g", "$share/h/a");
	check_split("$share/g", false, NULL, NULL);
	check_split("$share//a", false, NULL, NULL);
	check_split("$share/g/", false, NULL, NULL);
	check_split("$share/+/a", false, NULL, NULL);
	check_split("$share/", false, NULL, NULL);
	check_split("$share", false, NULL, NULL);
	check_split("$Share/g/a", false, NULL, NULL);
	check_split("share/g/a", false, NULL, NULL);
	check_split("sport/#", false, NULL, NULL);
	CU_ASSERT_FALSE(ferry__topic_shared_split(NULL, 0, NULL, NULL, NULL, NULL));
	/* NULL outputs are allowed. */
	CU_ASSERT_TRUE(ferry__topic_shared_split(U8("$share/g/a"), 10, NULL, NULL, NULL, NULL));
}

struct match_case {
	const char *filter, *name;
	bool want;
};

static const struct match_case match_cases[] = {
	/* MQTT section 4.7.1 examples */
	{"sport/tennis/player1/#", "sport/tennis/player1", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"sport/#", "sport", true},
	{"sport/#", "sport/tennis", true},
	{"#", "sport", true},
	{"#", "/", true},
	{"#", "a/b/c", true},
	{"sport/tennis/+", "sport/tennis/player1", true},
	{"sport/tennis/+", "sport/tennis/player2", true},
	{"sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"sport/+", "sport", false},
	{"sport/+", "sport/", true},
	{"+/+", "/finance", true},
	{"/+", "/finance", true},
	{"+", "/finance", false},
	{"+", "finance", true},
	/* MQTT section 4.7.2: '$' topics and leading wildcards */
	{"#", "$SYS/monitor/Clients", false},
	{"+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"$SYS/#", "$SYS/monitor/Clients", true},
	{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"+", "$SYS", false},
	{"#", "$", false},
	{"+/#", "$x/y", false},
	{"$SYS/#", "$SYS", true},
	{"$SYS", "$SYS", true},
	{"$SYS/+", "$SYS/", true},
	{"a/+/#", "a/$b/c", true},
	{"a/#", "a/b/$c", true},
	{"+", "a$", true},
	/* '#' and its parent level */
	{"a/#", "a", true},
	{"a/#", "a/", true},
	{"a/#", "ab", false},
	{"a/#", "b/a", false},
	{"a/b/#", "a/b/c/d/e", true},
	{"a/b/#", "a/c", false},
	{"+/b/#", "x/b", true},
	{"/#", "/", true},
	{"/#", "a", false},
	/* '+' and empty levels */
	{"a/+", "a/", true},
	{"a/+", "a", false},
	{"a/+", "a/b/c", false},
	{"+/+", "/", true},
	{"+", "/", false},
	{"/", "/", true},
	{"//", "/", false},
	{"+//", "//", true},
	{"a/+/c", "a/b/c", true},
	{"a/+/c", "a//c", true},
	{"a/+/c", "a/b/d", false},
	{"a/+/c", "a/b/c/d", false},
	{"+/+/+", "a/b/c", true},
	{"+/+/+", "a/b", false},
	/* literal levels */
	{"a/b", "a/b", true},
	{"a/b", "a/B", false},
	{"A/b", "a/b", false},
	{"a/b", "a/b/", false},
	{"a/b/", "a/b", false},
	{"a/b", "a", false},
	{"a", "a/b", false},
	{"/a", "a", false},
	{"a b/+", "a b/c d", true},
	{"\xe2\x82\xac/+", "\xe2\x82\xac/x", true},
	{"\xe2\x82\xac", "\xe2\x82\xac" "x", false},
	/* shared filters match by their inner filter */
	{"$share/g/sport/#", "sport/tennis", true},
	{"$share/consumer1/sport/tennis/+", "sport/tennis/player1", true},
	{"$share/g/sport/#", "$share/g/sport/x", false},
	{"$share/g/#", "$SYS/x", false},
	{"$share/g/$SYS/#", "$SYS/x", true},
	{"$share/g/a", "$share/g/a", false},
	{"$share/g/+", "a", true},
	{"$share/g/$share/h/a", "$share/h/a", true},
	/* not of shared shape: matched literally */
	{"$share/g", "$share/g", true},
	{"$share/+/a", "$share/x/a", true},
};

static void test_match_table(void)
{
	for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
		const struct match_case *c = &match_cases[i];
		/* the table itself must hold valid filters and names */
		ASSERT_RC(ferry__topic_filter_check(U8(c->filter), strlen(c->filter), false), FERRY_OK);
		ASSERT_RC(ferry__topic_name_check(U8(c->name), strlen(c->name)), FERRY_OK);
		bool got = ferry__topic_match(U8(c->filter), strlen(c->filter), U8(c->name),
		                              strlen(c->name));
		if (got != c->want)
			fail_case(c->name, c->filter, __LINE__);
		CU_ASSERT_EQUAL(got, c->want);
	}
}

/* Empty or NULL inputs never match (they are invalid, but must be safe). */
static void test_match_degenerate(void)
{
	CU_ASSERT_FALSE(ferry__topic_match(U8("#"), 1, U8(""), 0));
	CU_ASSERT_FALSE(ferry__topic_match(U8(""), 0, U8("a"), 1));
	CU_ASSERT_FALSE(ferry__topic_match(NULL, 0, NULL, 0));
	CU_ASSERT_FALSE(ferry__topic_match(U8("$share/g/a"), 10, NULL, 0));
}

/* Runs fn on a thread with a 256 KiB stack: recursion per level would overflow it. */
struct job {
	void (*fn)(void);
};

static void *thread_main(void *arg)
{
	((struct job *)arg)->fn();
	return NULL;
}

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

/* A buffer of n copies of the pattern's bytes followed by tail. */
static uint8_t *repeat(const char *pat, size_t times, const char *tail, size_t *len)
{
	size_t pl = strlen(pat), tl = strlen(tail);
	uint8_t *b = malloc(pl * times + tl + 1);
	CU_ASSERT_FATAL(b != NULL);
	for (size_t i = 0; i < times; i++)
		memcpy(b + i * pl, pat, pl);
	memcpy(b + pl * times, tail, tl);
	*len = pl * times + tl;
	return b;
}

#define MATCH(f, fl, n, nl) ferry__topic_match((f), (fl), (n), (nl))

static void long_topics(void)
{
	size_t al, bl, fl, hl;
	uint8_t *a = repeat("a", FERRY_TOPIC_MAX, "", &al);
	uint8_t *b = repeat("a", FERRY_TOPIC_MAX, "a", &bl); /* one byte too many */
	uint8_t *f = repeat("a", FERRY_TOPIC_MAX - 2, "/#", &fl);
	uint8_t *h = repeat("a", FERRY_TOPIC_MAX - 2, "", &hl);
	ASSERT_RC(ferry__topic_name_check(a, al), FERRY_OK);
	ASSERT_RC(ferry__topic_filter_check(a, al, true), FERRY_OK);
	ASSERT_RC(ferry__topic_name_check(b, bl), FERRY_ERR_TOPIC_NAME);
	ASSERT_RC(ferry__topic_filter_check(b, bl, false), FERRY_ERR_TOPIC_FILTER);
	ASSERT_RC(ferry__topic_filter_check(f, fl, false), FERRY_OK);
	CU_ASSERT_EQUAL(fl, FERRY_TOPIC_MAX);
	CU_ASSERT_TRUE(MATCH(a, al, a, al));
	CU_ASSERT_TRUE(MATCH(U8("#"), 1, a, al));
	CU_ASSERT_TRUE(MATCH(U8("+"), 1, a, al));
	CU_ASSERT_TRUE(MATCH(f, fl, h, hl)); /* "x/#" matches "x" */
	CU_ASSERT_FALSE(MATCH(f, fl, a, al));
	CU_ASSERT_TRUE(MATCH(b, al, a, al));
	a[al - 1] = 'b'; /* differs in the last of 65,535 bytes */
	CU_ASSERT_FALSE(MATCH(b, al, a, al));
	free(a);
	free(b);
	free(f);
	free(h);
}

/* 65,000 levels: 64,999 '/' give 65,000 empty levels. */
static void deep_topics(void)
{
	size_t nl, n2l, fl, gl, pl, bl;
	uint8_t *name = repeat("/", 64999, "", &nl);       /* 65,000 levels */
	uint8_t *name2 = repeat("/", 64998, "", &n2l);     /* 64,999 levels */
	uint8_t *plus = repeat("/", 64999, "+", &fl);      /* 65,000 levels */
	uint8_t *hash = repeat("/", 64999, "#", &gl);      /* 65,000 levels */
	uint8_t *pluses = repeat("+/", 32767, "+", &pl);   /* 32,768 levels, 65,535 bytes */
	uint8_t *bad = repeat("/", 64998, "#/", &bl);      /* '#' not last */
	ASSERT_RC(ferry__topic_name_check(name, nl), FERRY_OK);
	ASSERT_RC(ferry__topic_filter_check(plus, fl, false), FERRY_OK);
	ASSERT_RC(ferry__topic_filter_check(hash, gl, true), FERRY_OK);
	ASSERT_RC(ferry__topic_filter_check(pluses, pl, false), FERRY_OK);
	ASSERT_RC(ferry__topic_filter_check(bad, bl, false), FERRY_ERR_TOPIC_FILTER);
	CU_ASSERT_EQUAL(pl, FERRY_TOPIC_MAX);
	CU_ASSERT_TRUE(MATCH(name, nl, name, nl));
	CU_ASSERT_FALSE(MATCH(name, nl, name2, n2l));
	CU_ASSERT_TRUE(MATCH(plus, fl, name, nl));
	CU_ASSERT_FALSE(MATCH(plus, fl, name2, n2l));
	CU_ASSERT_TRUE(MATCH(hash, gl, name2, n2l)); /* "x/#" matches "x" */
	CU_ASSERT_TRUE(MATCH(hash, gl, name, nl));
	CU_ASSERT_TRUE(MATCH(pluses, pl, name + (nl - 32767), 32767));
	CU_ASSERT_FALSE(MATCH(pluses, pl, name + (nl - 32768), 32768));
	CU_ASSERT_FALSE(MATCH(pluses, pl, name + (nl - 32766), 32766));
	CU_ASSERT_TRUE(MATCH(U8("#"), 1, name, nl));
	CU_ASSERT_FALSE(MATCH(U8("+"), 1, name, nl));
	free(name);
	free(name2);
	free(plus);
	free(hash);
	free(pluses);
	free(bad);
}

static void test_long(void)
{
	run_on_small_stack(long_topics);
}

static void test_deep(void)
{
	run_on_small_stack(deep_topics);
}

/* A valid name is a valid filter, and (unless of shared shape) matches itself. */
static void test_name_is_filter(void)
{
	for (size_t i = 0; i < sizeof name_cases / sizeof name_cases[0]; i++) {
		const struct name_case *c = &name_cases[i];
		size_t n = strlen(c->s);
		if (c->want != FERRY_OK)
			continue;
		ASSERT_RC(ferry__topic_filter_check(U8(c->s), n, false), FERRY_OK);
		bool shared = ferry__topic_shared_split(U8(c->s), n, NULL, NULL, NULL, NULL);
		CU_ASSERT_EQUAL(MATCH(U8(c->s), n, U8(c->s), n), !shared);
	}
}

void register_topic_suite(void)
{
	CU_pSuite s = test_suite("topic");
	test_add(s, "name validation table", test_name_table);
	test_add(s, "filter validation table", test_filter_table);
	test_add(s, "U+0000 in names and filters", test_nul);
	test_add(s, "shared subscription split", test_shared_split);
	test_add(s, "matching table", test_match_table);
	test_add(s, "matching degenerate inputs", test_match_degenerate);
	test_add(s, "65,535-byte topics on a small stack", test_long);
	test_add(s, "65,000-level topics on a small stack", test_deep);
	test_add(s, "a valid name is a filter matching itself", test_name_is_filter);
}
