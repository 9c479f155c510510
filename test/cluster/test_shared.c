/*
 * test_shared.c - shared subscriptions ($share/group/filter) on a real
 * mosquitto: three consumer processes in one group share a stream of QoS 2
 * messages, each message is delivered exactly once across the group, and
 * when one consumer is killed (SIGKILL) midway the other two take over its
 * share.
 *
 * The consumers are test/integration/crash_sub processes with clean
 * sessions (STORE "-"): a killed consumer's session ends with its
 * connection, so the broker removes it from the group. The kill happens
 * between the two halves of the stream, once the first half has been
 * delivered: mosquitto does not hand a message that was in flight to a
 * consumer whose session ended to another member of the group (MQTT 5
 * 4.8.2 makes that a SHOULD), so "exactly once" is a claim about messages
 * that were not on their way to the dying consumer. doc/clustering.md says
 * what that means for applications.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "support/proc.h"
#include "cluster/suites.h"
#include "itest.h"
#include "support/broker.h"
#include "support/clock.h"
#include "unit/util.h"

#define CONSUMERS 3
#define TOTAL     3000
#define HALF      (TOTAL / 2)

struct consumer {
	struct test_proc proc;
	char id[32];
	char out[300]; /* the numbers it received, one per line */
	char log[300]; /* its stdout ("ready", "m K") and stderr */
};

static bool file_contains(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[256];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/* Adds every number in the consumer's output to counts[]; returns how many lines. */
static long read_numbers(const struct consumer *k, int *counts, long *max_seen)
{
	FILE *f = fopen(k->out, "r");
	long lines = 0;
	*max_seen = 0;
	if (!f)
		return 0;
	long v;
	while (fscanf(f, "%ld", &v) == 1) {
		lines++;
		if (v >= 1 && v <= TOTAL)
			counts[v]++;
		if (v > *max_seen)
			*max_seen = v;
	}
	fclose(f);
	return lines;
}

/* Waits (bounded) until the consumers' outputs hold `want` lines in all. */
static long wait_lines(struct consumer *ks, long want)
{
	static int counts[TOTAL + 1];
	long got = 0;
	for (int waited = 0; waited < ITEST_WAIT_MS; waited += 20) {
		got = 0;
		for (int i = 0; i < CONSUMERS; i++) {
			long max_seen;
			got += read_numbers(&ks[i], counts, &max_seen);
		}
		if (got >= want)
			break;
		test_nap_ms(20);
	}
	return got;
}

static int start_consumer(struct consumer *k, const char *dir, const char *uri, int i)
{
	char prog[512];
	const char *build = getenv("top_builddir");
	snprintf(prog, sizeof prog, "%s/test/integration/crash_sub", build ? build : ".");
	char *abs = realpath(prog, NULL);
	if (!abs) {
		fprintf(stderr, "\n    %s not built (make check-cluster builds it)\n", prog);
		return -1;
	}
	snprintf(k->id, sizeof k->id, "share-%d", i);
	snprintf(k->out, sizeof k->out, "%s/%s.out", dir, k->id);
	snprintf(k->log, sizeof k->log, "%s/%s.log", dir, k->id);
	const char *argv[] = {abs, uri, "-", k->id, "$share/workers/jobs/#", k->out, NULL};
	int rc = test_proc_start(&k->proc, argv, NULL, NULL, k->log);
	free(abs);
	return rc;
}

/* Publishes from..to at QoS 2 on jobs/<n % 7> and waits for every PUBCOMP. */
static void publish_range(ferry_client *pub, int from, int to)
{
	ferry_token last = 0;
	for (int n = from; n <= to; n++) {
		char topic[32], payload[16];
		snprintf(topic, sizeof topic, "jobs/%d", n % 7);
		int len = snprintf(payload, sizeof payload, "%d", n);
		ASSERT_RC(ferry_publish(pub, topic, payload, (size_t)len, 2, false, NULL, &last),
		          FERRY_OK);
	}
	ASSERT_RC(ferry_wait(pub, last, ITEST_WAIT_MS * 3), FERRY_OK);
}

/* Waits (bounded) until the broker logged that the client's connection ended. */
static bool wait_broker_dropped(const struct test_broker *b, const char *id)
{
	char closed[80], error[80];
	snprintf(closed, sizeof closed, "Client %s closed its connection", id);
	snprintf(error, sizeof error, "Socket error on client %s", id);
	for (int waited = 0; waited < ITEST_WAIT_MS; waited += 20) {
		if (test_broker_log_contains(b, closed) || test_broker_log_contains(b, error))
			return true;
		test_nap_ms(20);
	}
	return false;
}

static void check_exactly_once(struct consumer *ks)
{
	static int counts[TOTAL + 1];
	memset(counts, 0, sizeof counts);
	long share[CONSUMERS], max_seen[CONSUMERS];
	for (int i = 0; i < CONSUMERS; i++)
		share[i] = read_numbers(&ks[i], counts, &max_seen[i]);
	int missing = 0, twice = 0;
	for (int n = 1; n <= TOTAL; n++) {
		missing += counts[n] == 0;
		twice += counts[n] > 1;
	}
	fprintf(stderr, "\n    shared: %ld + %ld + %ld messages, %d missing, %d more than once ",
	        share[0], share[1], share[2], missing, twice);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(twice, 0);
	CU_ASSERT_TRUE(max_seen[2] <= HALF); /* the killed consumer got nothing after its death */
	CU_ASSERT_TRUE(share[0] > HALF / CONSUMERS && share[1] > HALF / CONSUMERS); /* took over */
}

static void test_group_shares_exactly_once_through_a_kill(void)
{
	char dir[128];
	ASSERT_RC(test_tmpdir("ferry-shared", dir, sizeof dir), FERRY_OK);
	struct test_broker b;
	int rc = test_broker_start(&b, NULL);
	ASSERT_RC(rc, FERRY_OK);
	struct consumer ks[CONSUMERS];
	memset(ks, 0, sizeof ks);
	for (int i = 0; rc == FERRY_OK && i < CONSUMERS; i++)
		rc = start_consumer(&ks[i], dir, test_broker_uri(&b), i + 1);
	ASSERT_RC(rc, FERRY_OK);
	for (int i = 0; i < CONSUMERS; i++) {
		bool ready = false;
		for (int waited = 0; !ready && waited < ITEST_WAIT_MS; waited += 20) {
			ready = file_contains(ks[i].log, "ready");
			if (!ready)
				test_nap_ms(20);
		}
		CU_ASSERT_TRUE(ready);
	}
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *pub =
	    itest_connect(&r, test_broker_uri(&b), "share-pub", FERRY_MQTT_3_1_1, true);
	if (pub) {
		publish_range(pub, 1, HALF);
		CU_ASSERT_EQUAL(wait_lines(ks, HALF), HALF);
		ASSERT_RC(test_proc_kill(&ks[2].proc), FERRY_OK);
		CU_ASSERT_TRUE(wait_broker_dropped(&b, ks[2].id));
		publish_range(pub, HALF + 1, TOTAL);
		CU_ASSERT_EQUAL(wait_lines(ks, TOTAL), TOTAL);
		check_exactly_once(ks);
		ferry_client_destroy(pub);
	}
	if (CU_get_number_of_failures() > 0) {
		for (int i = 0; i < CONSUMERS; i++)
			test_proc_dump_log(&ks[i].proc, stderr, 2000);
		test_broker_dump_log(&b, stderr);
	}
	for (int i = 0; i < CONSUMERS; i++)
		test_proc_kill(&ks[i].proc);
	test_broker_cleanup(&b);
	itest_rec_free(&r);
	test_rmtree(dir);
}

void register_shared_suite(void)
{
	CU_pSuite s = test_suite("shared");
	test_add(s, "3 consumers share 3,000 QoS 2 messages exactly once, one killed midway",
	         test_group_shares_exactly_once_through_a_kill);
}
