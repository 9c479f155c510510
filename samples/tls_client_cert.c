/*
 * tls_client_cert.c - mutual TLS: the client checks the broker's certificate
 * against a CA file and proves who it is with a certificate of its own;
 * then it sends itself one message and receives it.
 *
 * Usage: tls_client_cert URI CA_FILE CERT_FILE KEY_FILE
 *        e.g. tls_client_cert ssl://localhost:8883 ca.pem client.pem client.key
 * The broker needs a TLS listener asking for client certificates (mosquitto:
 * cafile, certfile, keyfile and require_certificate true). Prints OK and
 * exits 0 once the message came back, 1 with the reason otherwise.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

/* Set by the message callback (on ferry's thread), read by main. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char received[128];

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c, (void)user;
	pthread_mutex_lock(&mu);
	snprintf(received, sizeof received, "%.*s", (int)m->payload_len, (const char *)m->payload);
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

/* ferry's warnings and errors: a failed handshake says why here (which
 * certificate, what check). */
static void on_log(void *user, int level, const char *text)
{
	(void)user, (void)level;
	fprintf(stderr, "  [ferry] %s\n", text);
}

/* Connects, subscribes and publishes; returns 0 or the error, *step what failed. */
static int run(ferry_client *c, const char *topic, const char *text, const char **step)
{
	ferry_token t = 0;
	*step = "connect"; /* the TLS handshake: both certificates are checked here */
	int rc = ferry_connect(c, NULL, &t);
	if (!rc)
		rc = ferry_wait(c, t, 10000);
	if (rc)
		return rc;
	*step = "subscribe";
	rc = ferry_subscribe(c, topic, 1, NULL, &t);
	if (!rc)
		rc = ferry_wait(c, t, 10000);
	if (rc)
		return rc;
	*step = "publish";
	rc = ferry_publish(c, topic, text, strlen(text), 1, false, NULL, &t);
	if (!rc)
		rc = ferry_wait(c, t, 10000);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: tls_client_cert URI CA_FILE CERT_FILE KEY_FILE\n");
		return 1;
	}
	/* Zero values are the secure defaults: the chain is verified and the
	 * broker's name (or IP address) must match the URI's host. */
	struct ferry_tls_options tls = FERRY_TLS_OPTIONS_INIT;
	tls.ca_file = argv[2];   /* trust this CA (instead of the system's) */
	tls.cert_file = argv[3]; /* who we are */
	tls.key_file = argv[4];  /* and its private key */

	char id[32], topic[64], text[64];
	snprintf(id, sizeof id, "tls-cert-%ld", (long)getpid());
	snprintf(topic, sizeof topic, "samples/%s", id);
	snprintf(text, sizeof text, "hello over mutual TLS from %s", id);

	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = argv[1]; /* ssl:// or mqtts:// selects TLS */
	o.client_id = id;
	o.tls = &tls; /* copied, with the files loaded, by ferry_client_create */
	o.on_message = on_message;
	o.on_log = on_log; /* at the default level: warnings and errors */

	ferry_client *c = NULL;
	const char *step = "create a client (loading the certificate files)";
	int rc = ferry_client_create(&o, &c);
	if (!rc)
		rc = run(c, topic, text, &step);
	bool ok = false;
	if (!rc) { /* wait (bounded) for our message to come back */
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 10;
		pthread_mutex_lock(&mu);
		while (!received[0] && pthread_cond_timedwait(&cv, &mu, &deadline) == 0)
			;
		ok = strcmp(received, text) == 0;
		pthread_mutex_unlock(&mu);
		step = "receive the message";
		rc = ok ? FERRY_OK : FERRY_ERR_TIMEOUT;
	}
	if (ok) {
		printf("received \"%s\" on %s\n", received, topic);
		ferry_token t = 0;
		if (ferry_disconnect(c, 1000, NULL, &t) == FERRY_OK)
			ferry_wait(c, t, 5000);
	} else {
		fprintf(stderr, "tls_client_cert: cannot %s at %s: %s\n", step, argv[1],
		        ferry_strerror(rc));
	}
	ferry_client_destroy(c);
	printf("tls_client_cert: %s\n", ok ? "OK" : "FAILED");
	return ok ? 0 : 1;
}
