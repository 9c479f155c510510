/*
 * sub_min.c - the smallest subscribe: print N messages from a topic filter,
 * then exit. The wait is bounded, so it never hangs.
 *
 * Usage: sub_min [URI] [FILTER] [COUNT] [SECONDS]
 *        (defaults: tcp://127.0.0.1:1883 "samples/#" 1 30)
 * Prints "subscribed to FILTER" once the broker confirmed the subscription,
 * then "TOPIC: PAYLOAD" for each message. Exits 0 after COUNT messages,
 * 1 with the reason on an error or when SECONDS pass first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ferry/ferry.h>

/* Shared between main and the message callback (which runs on a ferry thread). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long received;

/* Runs on ferry's callback thread. The message is only valid during the
 * callback: print it (or copy it, with ferry_message_dup) here. */
static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	long *want = user;
	(void)c;
	pthread_mutex_lock(&mu);
	if (received < *want) { /* print N, not more */
		printf("%s: %.*s\n", m->topic, (int)m->payload_len, (const char *)m->payload);
		fflush(stdout);
		received++;
		pthread_cond_signal(&cv);
	}
	pthread_mutex_unlock(&mu);
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "tcp://127.0.0.1:1883";
	const char *filter = argc > 2 ? argv[2] : "samples/#";
	long want = argc > 3 ? atol(argv[3]) : 1;
	long seconds = argc > 4 ? atol(argv[4]) : 30;
	if (want < 1 || seconds < 1) {
		fprintf(stderr, "usage: sub_min [URI] [FILTER] [COUNT >= 1] [SECONDS >= 1]\n");
		return 1;
	}

	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = "";
	o.on_message = on_message;
	o.user = &want; /* passed to the callbacks */

	ferry_client *c = NULL;
	ferry_token t = 0;
	int rc = ferry_client_create(&o, &c);
	if (!rc)
		rc = ferry_connect(c, NULL, &t);
	if (!rc)
		rc = ferry_wait(c, t, 10000);
	if (!rc)
		rc = ferry_subscribe(c, filter, 1, NULL, &t);
	if (!rc)
		rc = ferry_wait(c, t, 10000); /* the SUBACK: from now on messages arrive */
	if (rc) {
		fprintf(stderr, "sub_min: cannot subscribe to %s at %s: %s\n", filter, uri,
		        ferry_strerror(rc));
		ferry_client_destroy(c);
		return 1;
	}
	printf("subscribed to %s\n", filter);
	fflush(stdout);

	/* Wait for the messages, or until the deadline (pthread_cond_timedwait
	 * takes an absolute CLOCK_REALTIME time by default). */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += seconds;
	pthread_mutex_lock(&mu);
	while (received < want && pthread_cond_timedwait(&cv, &mu, &deadline) == 0)
		;
	long got = received;
	pthread_mutex_unlock(&mu);

	if (ferry_disconnect(c, 1000, NULL, &t) == FERRY_OK)
		ferry_wait(c, t, 5000);
	ferry_client_destroy(c);
	if (got < want) {
		fprintf(stderr, "sub_min: timed out after %ld s with %ld of %ld messages\n",
		        seconds, got, want);
		return 1;
	}
	printf("received %ld message%s\n", got, got == 1 ? "" : "s");
	return 0;
}
