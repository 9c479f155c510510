/*
 * test_store_faults.c - the durable store when things go wrong (suite
 * "store-faults"): damaged files are refused with a clear error and left as
 * they were, a store passed in stays the caller's when create fails, a
 * damaged row is set aside and the others delivered, a full store loses
 * nothing and accepts again once acknowledged rows are removed, and the
 * argument checks. The shared helpers are in store_util.c.
 *
 * Every store is a SQLite file in a fresh mkdtemp directory, removed at the
 * end of the test. Files are damaged with the sqlite3 command-line shell
 * (Debian package sqlite3, installed by ./bootstrap deps), see st_sql_shell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "store_util.h"
#include "suites.h"
#include "unit/util.h"

static const char *uri;

static int suite_init(void)
{
	int rc = st_broker_start();
	uri = st_broker_uri();
	return rc;
}

static int suite_clean(void)
{
	uri = NULL;
	return st_broker_stop();
}

/* ---- 7. damaged files at create ------------------------------------------ */

static int create_on(const char *path, const char *id)
{
	struct srec *s = st_srec_new();
	struct ferry_client_options o;
	store_options(&o, s, uri, id, path);
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	CU_ASSERT_EQUAL(rc == FERRY_OK, c != NULL);
	ferry_client_destroy(c);
	st_srec_free(s);
	return rc;
}

/* A store file with n queued QoS 1 messages of `size` bytes for client id. */
static void make_store(const char *path, const char *id, int n, size_t size)
{
	struct srec *s = st_srec_new();
	char *p = calloc(1, size + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	ferry_client *c = store_client(s, uri, id, path);
	for (int i = 0; i < n; i++) {
		memset(p, 'a' + i % 26, size);
		ASSERT_RC(ferry_publish(c, "store/x", p, size, 1, false, NULL, NULL), FERRY_OK);
	}
	ferry_client_destroy(c);
	free(p);
	st_srec_free(s);
}

static void test_damaged_files_refused(void)
{
	struct tdir td;
	st_tdir_make(&td);
	char out[256];

	/* Random bytes. */
	FILE *f = fopen(td.path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	uint32_t x = 12345;
	for (int i = 0; i < 8192; i++) {
		x = x * 1103515245u + 12345u;
		fputc((int)(x >> 24), f);
	}
	fclose(f);
	ASSERT_RC(create_on(td.path, "store-bad-file"), FERRY_ERR_STORE_CORRUPT);
	unlink(td.path);

	/* A SQLite database that is not a ferry store: refused and left alone. */
	if (st_sql_shell(td.path, "CREATE TABLE other(x); INSERT INTO other VALUES (1);", out,
	                 sizeof out)) {
		ASSERT_RC(create_on(td.path, "store-bad-file"), FERRY_ERR_STORE_CORRUPT);
		const char *q = "SELECT count(*) FROM sqlite_master;";
		CU_ASSERT(st_sql_shell(td.path, q, out, sizeof out) && strcmp(out, "1") == 0);
	}
	unlink(td.path);

	/* A real store truncated to half its size. */
	make_store(td.path, "store-trunc", 300, 200);
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(td.path, &st), 0);
	CU_ASSERT(st.st_size >= 8 * 4096); /* the messages are in the file, not only in a WAL */
	CU_ASSERT_EQUAL(truncate(td.path, st.st_size / 2), 0);
	int rc = create_on(td.path, "store-trunc");
	if (rc != FERRY_ERR_STORE_CORRUPT)
		ASSERT_RC(rc, FERRY_ERR_STORE_IO);
	st_tdir_remove(&td);

	/* A schema newer than this ferry: refused, and the file is left as it was. */
	st_tdir_make(&td);
	make_store(td.path, "store-ver", 1, 4);
	if (st_sql_shell(td.path, "UPDATE meta SET value = 99 WHERE key = 'schema_version';", out,
	                 sizeof out)) {
		ASSERT_RC(create_on(td.path, "store-ver"), FERRY_ERR_STORE_VERSION);
		struct ferry_store *s = NULL;
		struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
		so.path = td.path;
		ASSERT_RC(ferry_store_sqlite_new(&so, &s), FERRY_ERR_STORE_VERSION);
		CU_ASSERT_PTR_NULL(s);
		CU_ASSERT(st_sql_shell(td.path,
		                       "SELECT value FROM meta WHERE key = 'schema_version';", out,
		                       sizeof out) &&
		          strcmp(out, "99") == 0);
		CU_ASSERT(
		    st_sql_shell(td.path, "SELECT count(*) FROM messages;", out, sizeof out) &&
		    strcmp(out, "1") == 0);
	}
	st_tdir_remove(&td);
}

/* ---- 7b. a store passed in, when create fails ---------------------------- */

/* A store of the test's own that counts open and close and can fail open. */
struct wrap {
	struct ferry_store *inner;
	int open_rc;
	int opens, closes;
};

#define INNER(impl) (((struct wrap *)(impl))->inner)
static int w_open(void *impl, const char *id, uint64_t *max)
{
	struct wrap *w = impl;
	w->opens++;
	return w->open_rc ? w->open_rc : w->inner->ops->open(w->inner->impl, id, max);
}
static int w_put(void *impl, const struct ferry_stored_msg *m, size_t n)
{
	return INNER(impl)->ops->put(INNER(impl)->impl, m, n);
}
static int w_update(void *impl, const struct ferry_store_change *ch, size_t n, unsigned flags)
{
	return INNER(impl)->ops->update(INNER(impl)->impl, ch, n, flags);
}
static int w_scan(void *impl, uint64_t after, size_t max, int which,
                  int (*fn)(void *, const struct ferry_stored_msg *), void *arg)
{
	return INNER(impl)->ops->scan(INNER(impl)->impl, after, max, which, fn, arg);
}
static int w_count(void *impl, size_t *msgs, size_t *bytes)
{
	return INNER(impl)->ops->count(INNER(impl)->impl, msgs, bytes);
}
static int w_q2_put(void *impl, uint16_t id, uint64_t hash, bool released)
{
	return INNER(impl)->ops->qos2_put(INNER(impl)->impl, id, hash, released);
}

static int w_q2_remove(void *impl, uint16_t id)
{
	return INNER(impl)->ops->qos2_remove(INNER(impl)->impl, id);
}
static int w_q2_list(void *impl, int (*fn)(void *, uint16_t, uint64_t, bool), void *arg)
{
	return INNER(impl)->ops->qos2_list(INNER(impl)->impl, fn, arg);
}
static int w_sub_put(void *impl, const char *filter, uint8_t options)
{
	return INNER(impl)->ops->sub_put(INNER(impl)->impl, filter, options);
}
static int w_sub_remove(void *impl, const char *filter)
{
	return INNER(impl)->ops->sub_remove(INNER(impl)->impl, filter);
}
static int w_sub_list(void *impl, int (*fn)(void *, const char *, uint8_t), void *arg)
{
	return INNER(impl)->ops->sub_list(INNER(impl)->impl, fn, arg);
}
static int w_quarantined(void *impl, size_t *rows)
{
	return INNER(impl)->ops->quarantined(INNER(impl)->impl, rows);
}
static void w_close(void *impl)
{
	struct wrap *w = impl;
	w->closes++;
	ferry_store_free(w->inner);
	w->inner = NULL;
}

static const struct ferry_store_ops wrap_ops = {
	.struct_size = sizeof(struct ferry_store_ops),
	.open = w_open, .put = w_put, .update = w_update, .scan = w_scan, .count = w_count,
	.qos2_put = w_q2_put, .qos2_remove = w_q2_remove, .qos2_list = w_q2_list,
	.sub_put = w_sub_put, .sub_remove = w_sub_remove, .sub_list = w_sub_list,
	.quarantined = w_quarantined, .close = w_close,
};

static struct ferry_store *wrap_new(struct wrap *w, int open_rc)
{
	memset(w, 0, sizeof *w);
	w->open_rc = open_rc;
	ASSERT_RC(ferry_store_memory_new(&w->inner), FERRY_OK);
	struct ferry_store *s = malloc(sizeof *s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	s->ops = &wrap_ops;
	s->impl = w;
	return s;
}

/* Try create with store (and options changed by bad); returns its rc. */
static int create_with_store(struct ferry_store *store, int version, const char *path)
{
	struct srec *r = st_srec_new();
	struct ferry_client_options o;
	store_options(&o, r, uri, "store-own", path);
	o.store = store;
	o.mqtt_version = version;
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	ferry_client_destroy(c);
	st_srec_free(r);
	return rc;
}

static void test_store_ownership_on_failed_create(void)
{
	struct wrap w;
	/* The store's open fails: create fails with that error, the caller keeps the store. */
	struct ferry_store *s = wrap_new(&w, FERRY_ERR_STORE_IO);
	ASSERT_RC(create_with_store(s, FERRY_MQTT_3_1_1, NULL), FERRY_ERR_STORE_IO);
	CU_ASSERT_EQUAL(w.closes, 0);
	ferry_store_free(s);
	CU_ASSERT_EQUAL(w.closes, 1);

	/* A bad option: same. */
	s = wrap_new(&w, FERRY_OK);
	ASSERT_RC(create_with_store(s, 9, NULL), FERRY_ERR_INVAL);
	CU_ASSERT_EQUAL(w.closes, 0);
	ferry_store_free(s);
	CU_ASSERT_EQUAL(w.closes, 1);

	/* A SQLite store, after a failed create, is still the caller's to free. */
	struct tdir td;
	st_tdir_make(&td);
	struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
	so.path = td.path;
	ASSERT_RC(ferry_store_sqlite_new(&so, &s), FERRY_OK);
	ASSERT_RC(create_with_store(s, 9, NULL), FERRY_ERR_INVAL);
	ferry_store_free(s);
	st_tdir_remove(&td);

	/* Success: the client owns it and closes it once at destroy. */
	s = wrap_new(&w, FERRY_OK);
	ASSERT_RC(create_with_store(s, FERRY_MQTT_3_1_1, NULL), FERRY_OK);
	CU_ASSERT_EQUAL(w.opens, 1);
	CU_ASSERT_EQUAL(w.closes, 1);
}

/* ---- 8. one damaged row is set aside ------------------------------------- */

static void test_damaged_row_quarantined(void)
{
	struct tdir td;
	st_tdir_make(&td);
	struct srec *a = st_srec_new(), *b = st_srec_new(), *sub = st_srec_new();
	ferry_token t[6];
	char p[32], sql[256], out[256];
	ferry_client *c = store_client(a, uri, "store-row", td.path);
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof p, "r%d", i);
		ASSERT_RC(ferry_publish(c, "store/row", p, 2, 1, false, NULL, &t[i]), FERRY_OK);
	}
	ferry_client_destroy(c);
	snprintf(sql, sizeof sql,
	         "UPDATE messages SET payload = X'626164'"
	         " WHERE client = 'store-row' AND token = %llu;"
	         "SELECT changes();",
	         (unsigned long long)t[2]);
	CU_ASSERT_FATAL(st_sql_shell(td.path, sql, out, sizeof out));
	CU_ASSERT_STRING_EQUAL(out, "1");

	ferry_client *s = st_subscriber(sub, uri, "store-row-sub", "store/row");
	c = store_client(b, uri, "store-row", td.path);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "store/row", "end", 3, 1, false, NULL, &t[5]), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&sub->r, 5, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(st_msg_is(&sub->r, 0, "store/row", "r0"));
	CU_ASSERT_TRUE(st_msg_is(&sub->r, 1, "store/row", "r1"));
	CU_ASSERT_TRUE(st_msg_is(&sub->r, 2, "store/row", "r3"));
	CU_ASSERT_TRUE(st_msg_is(&sub->r, 3, "store/row", "r4"));
	CU_ASSERT_TRUE(st_msg_is(&sub->r, 4, "store/row", "end"));
	const ferry_token good[] = {t[0], t[1], t[3], t[4], t[5]};
	CU_ASSERT_TRUE(st_delivered_exactly(b, good, 5));
	CU_ASSERT_EQUAL(ST_STAT(c, store_quarantined), 1);
	st_disconnect(c);
	ferry_client_destroy(c);
	ferry_client_destroy(s);

	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM quarantine WHERE client = 'store-row' AND token = %llu;",
	         (unsigned long long)t[2]);
	CU_ASSERT(st_sql_shell(td.path, sql, out, sizeof out) && strcmp(out, "1") == 0);
	CU_ASSERT(st_sql_shell(td.path, "SELECT count(*) FROM messages;", out, sizeof out) &&
	          strcmp(out, "0") == 0);
	st_srec_free(a);
	st_srec_free(b);
	st_srec_free(sub);
	st_tdir_remove(&td);
}

/* ---- 9. a full disk loses nothing ---------------------------------------- */

#define FULL_PAD 300

/* Payload i of the full-store test: "NNNN" then FULL_PAD bytes of 'f'. */
static const char *full_payload(char *buf, size_t i)
{
	snprintf(buf, 16, "%04zu", i % 10000);
	memset(buf + 4, 'f', FULL_PAD);
	buf[4 + FULL_PAD] = '\0';
	return buf;
}

/* Publishes QoS 1 until the store is full; the tokens of those accepted go to tok. */
static size_t fill_until_full(ferry_client *c, ferry_token *tok)
{
	char p[FULL_PAD + 16];
	size_t n = 0;
	int rc = FERRY_OK;
	while (n < ST_TOK_MAX - 1 && rc == FERRY_OK) {
		full_payload(p, n);
		rc = ferry_publish(c, "store/full", p, strlen(p), 1, false, NULL, &tok[n]);
		if (!rc)
			n++;
	}
	ASSERT_RC(rc, FERRY_ERR_STORE_FULL);
	ASSERT_RC(ferry_publish(c, "store/full", p, strlen(p), 1, false, NULL, NULL),
	          FERRY_ERR_STORE_FULL);
	return n;
}

static void test_store_full(void)
{
	struct tdir td;
	st_tdir_make(&td);
	struct srec *b = st_srec_new(), *sub = st_srec_new();
	ferry_token *tok = calloc(ST_TOK_MAX, sizeof *tok);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
	so.path = td.path;
	so.max_pages = 40;
	struct ferry_store *store = NULL;
	ASSERT_RC(ferry_store_sqlite_new(&so, &store), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	struct ferry_client_options o;
	store_options(&o, b, uri, "store-full", NULL);
	o.store = store;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	size_t n = fill_until_full(c, tok);
	CU_ASSERT(n >= 10);
	CU_ASSERT_TRUE(st_listed_tokens(c, tok, n)); /* nothing stored before was lost */

	ferry_client *s = st_subscriber(sub, uri, "store-full-sub", "store/full");
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&sub->r, n, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(st_delivered_exactly(b, tok, n));
	char p[FULL_PAD + 16];
	size_t wrong = n;
	for (size_t i = 0; i < n && wrong == n; i++)
		if (!st_msg_is(&sub->r, i, "store/full", full_payload(p, i)))
			wrong = i;
	CU_ASSERT_EQUAL(wrong, n);

	/* The acknowledged rows freed their space: publishing works again. */
	ferry_token t = 0;
	ASSERT_RC(ferry_publish(c, "store/full", "again", 5, 1, false, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&sub->r, n + 1, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(st_msg_is(&sub->r, n, "store/full", "again"));
	st_disconnect(c);
	ferry_client_destroy(c);
	ferry_client_destroy(s);
	st_assert_nothing_stored(td.path, "store-full");
	free(tok);
	st_srec_free(b);
	st_srec_free(sub);
	st_tdir_remove(&td);
}

/* ---- 11. argument checks ------------------------------------------------- */

static void test_argument_checks(void)
{
	struct tdir td;
	st_tdir_make(&td);
	struct listed *l = calloc(1, sizeof *l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	ASSERT_RC(ferry_stored_list(NULL, st_list_cb, l), FERRY_ERR_INVAL);

	/* store and store_path both set; the store stays the caller's. */
	struct wrap w;
	struct ferry_store *s = wrap_new(&w, FERRY_OK);
	ASSERT_RC(create_with_store(s, FERRY_MQTT_3_1_1, td.path), FERRY_ERR_INVAL);
	CU_ASSERT_EQUAL(w.closes, 0);
	ferry_store_free(s);
	CU_ASSERT_EQUAL(w.closes, 1);

	/* store_sync outside the enum. */
	struct srec *r = st_srec_new();
	struct ferry_client_options o;
	store_options(&o, r, uri, "store-args", td.path);
	ferry_client *c = NULL;
	const int bad_sync[] = {2, -1, 100};
	for (size_t i = 0; i < 3; i++) {
		o.store_sync = bad_sync[i];
		ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_INVAL);
		ferry_client_destroy(c);
		c = NULL;
	}

	/* FULL is accepted, and a NULL fn is refused. */
	o.store_sync = FERRY_SYNC_FULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(ferry_stored_list(c, NULL, l), FERRY_ERR_INVAL);
	ferry_client_destroy(c);

	/* Without a store nothing is stored: the listing is empty, not an error. */
	o.store_path = NULL;
	o.store_sync = FERRY_SYNC_NORMAL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "store/args", "x", 1, 1, false, NULL, NULL), FERRY_OK);
	l->n = 0;
	ASSERT_RC(ferry_stored_list(c, st_list_cb, l), FERRY_OK);
	CU_ASSERT_EQUAL(l->n, 0);
	ferry_client_destroy(c);
	st_srec_free(r);
	free(l);
	st_tdir_remove(&td);
}

void register_store_faults_suite(void)
{
	CU_pSuite s = CU_add_suite("store-faults", suite_init, suite_clean);
	if (!s)
		abort();
	test_add(s, "damaged files refused", test_damaged_files_refused);
	test_add(s, "store ownership on failed create", test_store_ownership_on_failed_create);
	test_add(s, "damaged row quarantined", test_damaged_row_quarantined);
	test_add(s, "full store loses nothing", test_store_full);
	test_add(s, "argument checks", test_argument_checks);
}
