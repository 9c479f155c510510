/*
 * durable_queue.c - an offline queue that survives the process: QoS 1
 * messages published through a SQLite store wait there while the broker is
 * unreachable, and a later run (even after kill -9) sends what is left.
 *
 * Usage:
 *   durable_queue publish URI STORE COUNT [--no-wait]
 *     Connect (in the background: ferry keeps retrying an unreachable
 *     broker), publish COUNT numbered messages ("1", "2", ... continuing
 *     after the highest number an earlier run left in STORE) to
 *     samples/durable_queue, then wait, with a progress line, until the
 *     broker has acknowledged every message in STORE. COUNT 0 only sends
 *     what earlier runs left. --no-wait exits once the messages are stored.
 *   durable_queue count URI COUNT SECONDS
 *     Subscribe and count messages 1..COUNT until all arrived or SECONDS
 *     passed; QoS 1 is at least once, so duplicates are counted apart.
 * Both exit 0 on success, 1 otherwise.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

#define TOPIC    "samples/durable_queue"
#define BATCH    500   /* messages per ferry_publish_many: one store transaction each */
#define STALL_MS 60000 /* publish gives up after this long without an acknowledgement */

/* Counters the callbacks (on ferry's thread) share with main. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long acked, failed;  /* publish: delivery-complete calls */
static long distinct, dups; /* count: messages 1..expected seen, and seen again */
static unsigned char *seen; /* count: seen[i] once message i arrived */
static long expected;

static void on_delivery_complete(ferry_client *c, void *user, ferry_token t, int rc)
{
	(void)c, (void)user, (void)t;
	pthread_mutex_lock(&mu);
	*(rc == FERRY_OK ? &acked : &failed) += 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

/* The number a message carries (its payload is text, not NUL-terminated), or 0. */
static long number_of(const void *payload, size_t len)
{
	char num[24] = "";
	if (len < sizeof num)
		memcpy(num, payload, len);
	return atol(num);
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c, (void)user;
	long n = number_of(m->payload, m->payload_len);
	pthread_mutex_lock(&mu);
	if (n >= 1 && n <= expected && seen[n])
		dups++;
	else if (n >= 1 && n <= expected)
		seen[n] = 1, distinct++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

/* ferry_stored_list callback: counts what earlier runs left, and its highest number. */
static int note_stored(void *arg, const struct ferry_stored_msg *m)
{
	long *left = arg; /* left[0]: messages, left[1]: highest number */
	long n = number_of(m->payload, m->payload_len);
	left[0]++;
	left[1] = n > left[1] ? n : left[1];
	return 0;
}

/* Waits up to ms until *counter >= goal; returns *counter (read under the lock). */
static long wait_until(const long *counter, long goal, long ms)
{
	struct timespec deadline; /* pthread_cond_timedwait takes a CLOCK_REALTIME time */
	clock_gettime(CLOCK_REALTIME, &deadline);
	long ns = deadline.tv_nsec + ms % 1000 * 1000000L;
	deadline.tv_sec += ms / 1000 + ns / 1000000000L;
	deadline.tv_nsec = ns % 1000000000L;
	pthread_mutex_lock(&mu);
	while (*counter < goal && pthread_cond_timedwait(&cv, &mu, &deadline) == 0)
		;
	long now = *counter;
	pthread_mutex_unlock(&mu);
	return now;
}

/* Publishes numbers first..first+count-1 in batches; each batch is committed to
 * the store before ferry_publish_many returns, connected or not. */
static int publish_numbers(ferry_client *c, long first, long count)
{
	static char text[BATCH][24];
	struct ferry_publish_msg msgs[BATCH];
	for (long done = 0; done < count;) {
		size_t n = 0;
		for (; n < BATCH && done < count; n++, done++) {
			int len = snprintf(text[n], sizeof text[n], "%ld", first + done);
			msgs[n] = (struct ferry_publish_msg){
			    .topic = TOPIC, .payload = text[n], .len = (size_t)len, .qos = 1};
		}
		int rc = ferry_publish_many(c, msgs, n, NULL, NULL);
		if (rc)
			return rc;
	}
	return FERRY_OK;
}

/* Waits until `total` acknowledgements, showing progress: a live line on a
 * terminal, a plain line every 5% otherwise. Gives up after STALL_MS without
 * one. Returns whether all came. */
static bool drain(long total)
{
	bool tty = isatty(STDOUT_FILENO);
	long step = total / 20 > 0 ? total / 20 : 1, next_line = 0, now = 0;
	int idle_ms = 0;
	while (now < total && idle_ms < STALL_MS) {
		long was = now;
		now = wait_until(&acked, total, 100); /* a tick of 100 ms, or all came */
		idle_ms = now == was ? idle_ms + 100 : 0;
		if (tty) {
			printf("\r  acknowledged %ld of %ld (%ld%%) ", now, total,
			       now * 100 / total);
		} else if (now >= next_line) {
			printf("  acknowledged %ld of %ld (%ld%%)\n", now, total,
			       now * 100 / total);
			next_line = (now / step + 1) * step;
		}
		fflush(stdout);
	}
	if (tty && total > 0)
		printf("\n");
	return now >= total;
}

static int run_publish(const char *uri, const char *store, long count, bool no_wait)
{
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = "durable-queue"; /* a store holds one client's data, found by its id */
	o.store_path = store;          /* created if absent; FERRY_SYNC_NORMAL survives kill -9 */
	o.on_delivery_complete = on_delivery_complete; /* also for messages of earlier runs */
	o.reconnect_min_ms = 200;                      /* retry an unreachable broker often */
	o.reconnect_max_ms = 1000;

	ferry_client *c = NULL;
	ferry_token t = 0;
	long left[2] = {0, 0};
	int rc = ferry_client_create(&o, &c);
	if (!rc) /* what the broker never acknowledged in earlier runs */
		rc = ferry_stored_list(c, note_stored, left);
	if (!rc && left[0])
		printf("%ld messages left in %s by an earlier run\n", left[0], store);
	if (!rc) /* ferry reconnects by itself until the broker answers */
		rc = ferry_connect(c, NULL, &t);
	if (!rc && count > 0) /* connected or not: the messages wait in the store */
		rc = publish_numbers(c, left[1] + 1, count);
	if (!rc && count > 0)
		printf("stored %ld messages (%ld..%ld) in %s\n", count, left[1] + 1,
		       left[1] + count, store);
	fflush(stdout);
	bool ok = !rc && (no_wait || drain(left[0] + count));
	if (ok && !no_wait) { /* check: the store is empty, nothing failed */
		long total = left[0] + count;
		left[0] = 0;
		ferry_stored_list(c, note_stored, left);
		printf("all %ld messages acknowledged; %ld left in the store\n", total, left[0]);
		ok = left[0] == 0 && wait_until(&failed, 0, 0) == 0;
		if (ferry_disconnect(c, 1000, NULL, &t) == FERRY_OK)
			ferry_wait(c, t, 5000);
	}
	if (rc)
		fprintf(stderr, "durable_queue: %s\n", ferry_strerror(rc));
	else if (!ok)
		fprintf(stderr, "durable_queue: gave up; run again to send the rest\n");
	ferry_client_destroy(c); /* unacknowledged messages stay in the store */
	return ok ? 0 : 1;
}

static int run_count(const char *uri, long seconds)
{
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = "";
	o.on_message = on_message;
	seen = calloc((size_t)expected + 1, 1);

	ferry_client *c = NULL;
	ferry_token t = 0;
	int rc = seen ? ferry_client_create(&o, &c) : FERRY_ERR_NOMEM;
	if (!rc)
		rc = ferry_connect(c, NULL, &t);
	if (!rc)
		rc = ferry_wait(c, t, 10000);
	if (!rc)
		rc = ferry_subscribe(c, TOPIC, 1, NULL, &t);
	if (!rc) /* the SUBACK: from now on the broker keeps our messages */
		rc = ferry_wait(c, t, 10000);
	if (rc) {
		fprintf(stderr, "durable_queue: cannot subscribe at %s: %s\n", uri,
		        ferry_strerror(rc));
		ferry_client_destroy(c);
		free(seen);
		return 1;
	}
	printf("subscribed to %s\n", TOPIC);
	fflush(stdout);
	wait_until(&distinct, expected, seconds * 1000);
	ferry_client_destroy(c);
	printf("received %ld of %ld messages, %ld duplicates, %ld missing\n", distinct, expected,
	       dups, expected - distinct);
	free(seen);
	return distinct == expected ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (argc >= 5 && strcmp(mode, "publish") == 0 && atol(argv[4]) >= 0)
		return run_publish(argv[2], argv[3], atol(argv[4]),
		                   argc > 5 && strcmp(argv[5], "--no-wait") == 0);
	if (argc >= 5 && strcmp(mode, "count") == 0 && atol(argv[3]) > 0 && atol(argv[4]) > 0) {
		expected = atol(argv[3]);
		return run_count(argv[2], atol(argv[4]));
	}
	fprintf(stderr, "usage: durable_queue publish URI STORE COUNT [--no-wait]\n"
	                "       durable_queue count URI COUNT SECONDS\n");
	return 1;
}
