/*
 * request_response.c - MQTT 5 request/response with two clients:
 *  - a responder subscribes to a request topic and answers each request on
 *    the request's Response Topic, echoing its Correlation Data (and adding
 *    a user property saying who answered);
 *  - a requester calls ferry_request, which subscribes to the response topic,
 *    publishes the request with a Response Topic and a Correlation Data of
 *    its own, and completes with the response that carries the same
 *    correlation data.
 *
 * Usage: request_response [URI] [QUESTION]
 *        (defaults: tcp://127.0.0.1:1883 "hello, responder")
 * Prints the response; exits 0 once it came, 1 with the reason otherwise.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

#define WAIT_MS 10000

/* What the requester's completion callback (on ferry's thread) hands to main. */
struct answer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;           /* [mu] */
	int rc;              /* [mu] the request's result */
	char text[256];      /* [mu] the response's payload */
	char handled_by[64]; /* [mu] its "handled-by" user property */
};

/* ---- the responder -------------------------------------------------------- */

/* A request arrived: answer it on its Response Topic with its Correlation Data. */
static void serve(ferry_client *c, void *user, const struct ferry_message *m)
{
	const char *name = user;
	const struct ferry_properties *in = m->props; /* NULL when it had no properties */
	if (!in || !in->response_topic) {
		printf("responder: a request without a response topic, ignored\n");
		return;
	}
	char reply[256]; /* the answer: the question in capitals */
	size_t n = m->payload_len < sizeof reply ? m->payload_len : sizeof reply;
	for (size_t i = 0; i < n; i++)
		reply[i] = (char)toupper(((const unsigned char *)m->payload)[i]);

	const struct ferry_user_property who[] = {{"handled-by", name}};
	struct ferry_properties props = FERRY_PROPERTIES_INIT;
	props.correlation_data = in->correlation_data; /* echoed: it names the request */
	props.correlation_len = in->correlation_len;
	props.user = who;
	props.user_count = 1;
	struct ferry_publish_msg msg = {
	    .topic = in->response_topic, .payload = reply, .len = n, .qos = 1, .props = &props};
	/* Callbacks may call any ferry function; everything is copied here. */
	int rc = ferry_publish_message(c, &msg, NULL, NULL);
	if (rc)
		fprintf(stderr, "responder: cannot answer: %s\n", ferry_strerror(rc));
}

/* ---- the requester's completion --------------------------------------------- */

static void on_response(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct answer *a = user;
	(void)c;
	pthread_mutex_lock(&a->mu);
	a->rc = r->rc;
	if (r->rc == FERRY_OK) { /* r->message is valid during this call only: copy */
		const struct ferry_message *m = r->message;
		snprintf(a->text, sizeof a->text, "%.*s", (int)m->payload_len,
		         (const char *)m->payload);
		const char *by = ferry_properties_get_user(m->props, "handled-by");
		snprintf(a->handled_by, sizeof a->handled_by, "%s", by ? by : "?");
	}
	a->done = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* Waits (bounded) for on_response; returns the request's rc or FERRY_ERR_TIMEOUT. */
static int wait_answer(struct answer *a, int ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	pthread_mutex_lock(&a->mu);
	while (!a->done && pthread_cond_timedwait(&a->cv, &a->mu, &deadline) == 0)
		;
	int rc = a->done ? a->rc : FERRY_ERR_TIMEOUT;
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* ---- main ------------------------------------------------------------------ */

/* Creates an MQTT 5 client and connects it (waiting for the CONNACK). */
static int start(const char *uri, const char *id, ferry_message_cb on_message, void *user,
                 ferry_client **out)
{
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = id;
	o.mqtt_version = FERRY_MQTT_5; /* request/response needs MQTT 5 properties */
	o.on_message = on_message;
	o.user = user;
	ferry_token t = 0;
	int rc = ferry_client_create(&o, out);
	if (!rc)
		rc = ferry_connect(*out, NULL, &t);
	if (!rc)
		rc = ferry_wait(*out, t, WAIT_MS);
	return rc;
}

/* Sends DISCONNECT (bounded wait), then frees the client. */
static void stop(ferry_client *c)
{
	ferry_token t = 0;
	if (c && ferry_disconnect(c, 1000, NULL, &t) == FERRY_OK)
		ferry_wait(c, t, 5000);
	ferry_client_destroy(c);
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "tcp://127.0.0.1:1883";
	const char *question = argc > 2 ? argv[2] : "hello, responder";
	/* Names of our own (the process id), so that parallel runs do not mix. */
	char responder_id[64], requester_id[64], requests[96], responses[96];
	long pid = (long)getpid();
	snprintf(responder_id, sizeof responder_id, "rr-responder-%ld", pid);
	snprintf(requester_id, sizeof requester_id, "rr-requester-%ld", pid);
	snprintf(requests, sizeof requests, "samples/rr-%ld/requests", pid);
	snprintf(responses, sizeof responses, "samples/rr-%ld/responses", pid);

	struct answer a = {.rc = FERRY_ERR_TIMEOUT};
	pthread_mutex_init(&a.mu, NULL);
	pthread_cond_init(&a.cv, NULL);
	ferry_client *responder = NULL, *requester = NULL;
	ferry_token t = 0;

	const char *step = "start the responder";
	int rc = start(uri, responder_id, serve, responder_id, &responder);
	if (rc)
		goto out;
	step = "subscribe the responder";
	rc = ferry_subscribe(responder, requests, 1, NULL, &t);
	if (!rc)
		rc = ferry_wait(responder, t, WAIT_MS);
	if (rc)
		goto out;
	printf("responder listening on %s\n", requests);

	step = "start the requester";
	rc = start(uri, requester_id, NULL, NULL, &requester);
	if (rc)
		goto out;
	step = "send the request";
	struct ferry_publish_msg msg = {
	    .topic = requests, .payload = question, .len = strlen(question), .qos = 1};
	struct ferry_call call = {.on_done = on_response, .user = &a};
	rc = ferry_request(requester, &msg, responses, WAIT_MS, &call, NULL);
	if (rc)
		goto out;
	printf("request \"%s\" sent to %s, answer expected on %s\n", question, requests, responses);
	step = "get the response"; /* ferry's own timeout (WAIT_MS) ends it first */
	rc = wait_answer(&a, WAIT_MS + 5000);
	if (rc)
		goto out;
	printf("response \"%s\" from %s\n", a.text, a.handled_by);
out:
	if (rc)
		fprintf(stderr, "request_response: cannot %s (%s): %s\n", step, uri,
		        ferry_strerror(rc));
	stop(requester);
	stop(responder);
	pthread_cond_destroy(&a.cv);
	pthread_mutex_destroy(&a.mu);
	printf("request_response: %s\n", rc ? "FAILED" : "OK");
	return rc ? 1 : 0;
}
