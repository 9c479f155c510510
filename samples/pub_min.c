/*
 * pub_min.c - the smallest publish: connect, publish one QoS 1 message, wait
 * for the broker's acknowledgement (PUBACK), disconnect.
 *
 * Usage: pub_min [URI] [TOPIC] [MESSAGE]
 *        (defaults: tcp://127.0.0.1:1883 samples/hello "hello from pub_min")
 * Exits 0 once the broker has the message, 1 with the reason otherwise.
 */
#include <stdio.h>
#include <string.h>

#include <ferry/ferry.h>

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "tcp://127.0.0.1:1883";
	const char *topic = argc > 2 ? argv[2] : "samples/hello";
	const char *text = argc > 3 ? argv[3] : "hello from pub_min";

	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = ""; /* the broker picks one (allowed with clean_session, the default) */

	ferry_client *c = NULL;
	ferry_token t = 0;
	const char *step = "create a client for";
	int rc = ferry_client_create(&o, &c);
	if (rc)
		goto out;
	/* Every call is asynchronous and returns a token; ferry_wait blocks on it. */
	step = "connect to";
	rc = ferry_connect(c, NULL, &t);
	if (!rc)
		rc = ferry_wait(c, t, 10000);
	if (rc)
		goto out;
	step = "publish via";
	rc = ferry_publish(c, topic, text, strlen(text), 1, false, NULL, &t);
	if (!rc)
		rc = ferry_wait(c, t, 10000); /* QoS 1: completes when the PUBACK arrives */
	if (rc)
		goto out;
	printf("published \"%s\" to %s\n", text, topic);
	if (ferry_disconnect(c, 1000, NULL, &t) == FERRY_OK)
		ferry_wait(c, t, 5000);
out:
	if (rc)
		fprintf(stderr, "pub_min: cannot %s %s: %s\n", step, uri, ferry_strerror(rc));
	ferry_client_destroy(c); /* NULL is fine */
	return rc ? 1 : 0;
}
