/*
 * fuzz_topic.c - topic validation, matching and the subscription index.
 *
 * Input: pieces separated by 0xFF bytes (0xFF never occurs in UTF-8, so it
 * cannot be part of a valid topic). The last piece is a topic name; up to
 * MAX_FILTERS pieces before it are topic filters. For every input:
 *  - the checks return only their documented codes, and agree with each
 *    other (a valid shared filter is a valid ordinary filter; a valid name
 *    is a valid filter; allow_shared only matters after "$share/");
 *  - ferry__topic_shared_split returns views that tile the filter;
 *  - for each valid filter and valid name, ferry__topic_match agrees with
 *    ref_match below, an independent matcher that splits both strings into
 *    level arrays first and compares the arrays;
 *  - an index holding all the filters (repeats replace) calls back exactly
 *    the values whose filters match, once each; get, count and remove agree.
 * Any disagreement abort()s, which libFuzzer reports as a crash.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/error.h"
#include "fuzz.h"
#include "topic.h"
#include "topic_index.h"

#define MAX_FILTERS 8
#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

struct piece {
	const uint8_t *p;
	size_t len;
};

/* Splits s at every '/' into out (room for len + 1 levels); returns the count. */
static size_t ref_split(const uint8_t *s, size_t len, struct piece *out)
{
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '/') {
			out[n].p = s + start;
			out[n].len = i - start;
			n++;
			start = i + 1;
		}
	}
	return n;
}

static bool ref_is(const struct piece *lv, char c)
{
	return lv->len == 1 && lv->p[0] == (uint8_t)c;
}

/* "$share/" + group without '/', '+', '#' + "/" + a non-empty rest: skip to the rest. */
static void ref_unshare(const uint8_t **f, size_t *fl)
{
	static const char pre[] = "$share/";
	if (*fl < 7 || memcmp(*f, pre, 7) != 0)
		return;
	size_t k = 7;
	while (k < *fl && (*f)[k] != '/' && (*f)[k] != '+' && (*f)[k] != '#')
		k++;
	if (k == 7 || k + 1 >= *fl || (*f)[k] != '/')
		return;
	*f += k + 1;
	*fl -= k + 1;
}

/* The reference matcher, for a valid filter and a valid name. */
static bool ref_match(const uint8_t *f, size_t fl, const uint8_t *n, size_t nl)
{
	ref_unshare(&f, &fl);
	struct piece *fv = malloc((fl + 1) * sizeof *fv);
	struct piece *nv = malloc((nl + 1) * sizeof *nv);
	CHECK(fv && nv);
	size_t fc = ref_split(f, fl, fv), nc = ref_split(n, nl, nv);
	bool dollar = nl > 0 && n[0] == '$';
	bool m = true;
	size_t k;
	for (k = 0; k < fc; k++) {
		if (ref_is(&fv[k], '#')) {
			m = !(k == 0 && dollar);
			goto out;
		}
		if (k >= nc || (k == 0 && dollar && ref_is(&fv[k], '+'))) {
			m = false;
			goto out;
		}
		if (ref_is(&fv[k], '+'))
			continue;
		if (fv[k].len != nv[k].len || memcmp(fv[k].p, nv[k].p, fv[k].len) != 0) {
			m = false;
			goto out;
		}
	}
	m = fc == nc;
out:
	free(fv);
	free(nv);
	return m;
}

static bool has_share_prefix(const struct piece *s)
{
	return s->len >= 7 && memcmp(s->p, "$share/", 7) == 0;
}

/* Checks a filter in both modes; returns whether it is valid (without allow_shared). */
static bool check_filter(const struct piece *f)
{
	int r0 = ferry__topic_filter_check(f->p, f->len, false);
	int r1 = ferry__topic_filter_check(f->p, f->len, true);
	CHECK(r0 == FERRY_OK || r0 == FERRY_ERR_TOPIC_FILTER || r0 == FERRY_ERR_UTF8 ||
	      r0 == FERRY_ERR_UTF8_NUL);
	CHECK(r1 == FERRY_OK || r1 == FERRY_ERR_TOPIC_FILTER || r1 == FERRY_ERR_UTF8 ||
	      r1 == FERRY_ERR_UTF8_NUL);
	if (r1 == FERRY_OK)
		CHECK(r0 == FERRY_OK);
	if (!has_share_prefix(f))
		CHECK(r0 == r1);
	const uint8_t *g, *r;
	size_t gl, rl;
	if (ferry__topic_shared_split(f->p, f->len, &g, &gl, &r, &rl)) {
		CHECK(has_share_prefix(f) && g == f->p + 7 && gl > 0 && rl > 0);
		CHECK(r == g + gl + 1 && 7 + gl + 1 + rl == f->len && g[gl] == '/');
		CHECK(!memchr(g, '+', gl) && !memchr(g, '#', gl) && !memchr(g, '/', gl));
		if (r0 == FERRY_OK)
			CHECK(r1 == FERRY_OK);
	} else if (has_share_prefix(f)) {
		CHECK(r1 != FERRY_OK);
	}
	return r0 == FERRY_OK;
}

struct calls {
	unsigned n[MAX_FILTERS];
	unsigned total;
};

static int on_match(void *value, void *arg)
{
	struct calls *c = arg;
	size_t i = (size_t)((unsigned *)value - c->n);
	CHECK(i < MAX_FILTERS);
	c->n[i]++;
	c->total++;
	return 0;
}

static bool same(const struct piece *a, const struct piece *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Puts every filter, checks match against expectations, then removes them all. */
static void check_index(const struct piece *f, size_t nf, const bool *valid,
                        const struct piece *name, bool name_ok)
{
	struct ferry_topic_index *ix = ferry__topic_index_new();
	struct calls c = {0};
	bool last[MAX_FILTERS]; /* valid, and no later piece repeats it */
	size_t distinct = 0;
	CHECK(ix);
	for (size_t i = 0; i < nf; i++) {
		int rc = ferry__topic_index_put(ix, f[i].p, f[i].len, &c.n[i]);
		CHECK(rc == (valid[i] ? FERRY_OK : FERRY_ERR_TOPIC_FILTER));
	}
	for (size_t i = 0; i < nf; i++) {
		last[i] = valid[i];
		for (size_t j = i + 1; j < nf && last[i]; j++)
			last[i] = !same(&f[i], &f[j]);
		distinct += last[i];
		if (last[i])
			CHECK(ferry__topic_index_get(ix, f[i].p, f[i].len) == &c.n[i]);
	}
	CHECK(ferry__topic_index_count(ix) == distinct);
	CHECK(ferry__topic_index_match(ix, name->p, name->len, on_match, &c) == FERRY_OK);
	for (size_t i = 0; name_ok && i < nf; i++) {
		bool want = last[i] && ferry__topic_match(f[i].p, f[i].len, name->p, name->len);
		CHECK(c.n[i] == (unsigned)want);
	}
	for (size_t i = 0; i < nf; i++) {
		void *old = NULL;
		if (!last[i])
			continue;
		CHECK(ferry__topic_index_remove(ix, f[i].p, f[i].len, &old) == FERRY_OK);
		CHECK(old == &c.n[i]);
		CHECK(ferry__topic_index_remove(ix, f[i].p, f[i].len, NULL) == FERRY_ERR_INVAL);
	}
	CHECK(ferry__topic_index_count(ix) == 0);
	ferry__topic_index_free(ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct piece p[MAX_FILTERS + 1];
	size_t np = 0, start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == 0xFF) {
			if (np == MAX_FILTERS + 1) /* keep the first filters and the last piece */
				np--;
			p[np].p = data + start;
			p[np].len = i - start;
			np++;
			start = i + 1;
		}
	}
	const struct piece *name = &p[np - 1];
	size_t nf = np - 1;
	int rn = ferry__topic_name_check(name->p, name->len);
	CHECK(rn == FERRY_OK || rn == FERRY_ERR_TOPIC_NAME || rn == FERRY_ERR_UTF8 ||
	      rn == FERRY_ERR_UTF8_NUL);
	if (rn == FERRY_OK)
		CHECK(ferry__topic_filter_check(name->p, name->len, false) == FERRY_OK);
	bool valid[MAX_FILTERS];
	for (size_t i = 0; i < nf; i++) {
		valid[i] = check_filter(&p[i]);
		bool m = ferry__topic_match(p[i].p, p[i].len, name->p, name->len);
		if (valid[i] && rn == FERRY_OK)
			CHECK(m == ref_match(p[i].p, p[i].len, name->p, name->len));
	}
	if (rn == FERRY_OK) /* a name used as a filter */
		CHECK(ferry__topic_match(name->p, name->len, name->p, name->len) ==
		      ref_match(name->p, name->len, name->p, name->len));
	check_index(p, nf, valid, name, rn == FERRY_OK);
	return 0;
}
