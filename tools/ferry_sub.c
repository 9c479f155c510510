/*
 * ferry_sub.c - ferry-sub: connect, subscribe to every -t filter in one
 * SUBSCRIBE, print each message that arrives (the payload, or "TOPIC
 * PAYLOAD" with -v, one per line), stop after -C messages, at the -W
 * deadline or at SIGINT/SIGTERM/SIGHUP, then disconnect cleanly.
 * A lost connection is re-established by ferry (the subscriptions with it).
 * Exit status: see enum tool_exit in options.h and the man page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/ferry.h"
#include "options.h"

static struct tool_run run; /* lives until exit: the signal thread uses it */

/* Runs on ferry's receive thread: print, count, wake the main thread. */
static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	struct tool_run *r = user;
	const struct tool_options *o = r->opt;
	pthread_mutex_lock(&r->mu);
	if ((o->count && r->received >= o->count) || r->output_failed) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	bool ok = true;
	if (o->verbose)
		ok = fwrite(m->topic, 1, m->topic_len, stdout) == m->topic_len &&
		     putchar(' ') != EOF;
	if (ok && m->payload_len)
		ok = fwrite(m->payload, 1, m->payload_len, stdout) == m->payload_len;
	ok = ok && putchar('\n') != EOF && fflush(stdout) == 0;
	if (ok)
		r->received++;
	else
		r->output_failed = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void on_subscribed(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	struct tool_run *r = user;
	pthread_mutex_lock(&r->mu);
	r->completed++;
	if (res->rc) {
		r->fail_rc = res->rc;
		r->fail_reason = res->reason_code;
	}
	for (size_t i = 0; !r->fail_rc && i < res->granted_count; i++)
		if (res->granted[i] >= 0x80) {
			r->fail_rc = FERRY_ERR_REJECTED;
			r->fail_reason = res->granted[i];
			fprintf(stderr,
			        "%s: the broker refused the subscription to '%s' (code 0x%02x)\n",
			        r->opt->prog, i < r->opt->ntopics ? r->opt->topics[i] : "?",
			        (unsigned)res->granted[i]);
		}
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static bool subscribed(const struct tool_run *r)
{
	return r->completed > 0;
}

static bool enough(const struct tool_run *r)
{
	return (r->opt->count && r->received >= r->opt->count) || r->output_failed;
}

static int subscribe(const struct tool_options *o)
{
	struct ferry_subscription *subs = calloc(o->ntopics, sizeof *subs);
	if (!subs) {
		fprintf(stderr, "%s: out of memory\n", o->prog);
		return TOOL_EXIT_ERROR;
	}
	for (size_t i = 0; i < o->ntopics; i++)
		subs[i] = (struct ferry_subscription){.filter = o->topics[i], .qos = o->qos};
	int rc = ferry_subscribe_many(run.client, subs, o->ntopics,
	                              &(struct ferry_call){.on_done = on_subscribed, .user = &run}, NULL);
	free(subs);
	if (rc) {
		tool_report(o, "subscribe", rc);
		return rc == FERRY_ERR_TOPIC_FILTER || rc == FERRY_ERR_UTF8 || rc == FERRY_ERR_INVAL
		           ? TOOL_EXIT_USAGE
		           : TOOL_EXIT_ERROR;
	}
	rc = tool_run_wait(&run, subscribed, true);
	if (rc == TOOL_EXIT_TIMEOUT)
		fprintf(stderr, "%s: timed out waiting for the subscription (-W %d)\n", o->prog,
		        o->timeout_s);
	if (!rc && run.fail_rc) {
		tool_report(o, "subscribe failed", run.fail_rc);
		rc = TOOL_EXIT_ERROR;
	}
	return rc;
}

/* Turns the end of the wait for messages into the exit status. */
static int outcome(const struct tool_options *o, int wait_rc)
{
	pthread_mutex_lock(&run.mu);
	long got = run.received;
	bool out_failed = run.output_failed;
	pthread_mutex_unlock(&run.mu);
	if (out_failed) {
		fprintf(stderr, "%s: cannot write to standard output\n", o->prog);
		return TOOL_EXIT_ERROR;
	}
	bool asked = o->count ? got >= o->count : true;
	if (wait_rc == TOOL_EXIT_TIMEOUT) {
		if (o->count ? asked : got > 0)
			return TOOL_EXIT_OK;
		fprintf(stderr, "%s: timed out after %d s with %ld message%s", o->prog,
		        o->timeout_s, got, got == 1 ? "" : "s");
		if (o->count)
			fprintf(stderr, " of %ld", o->count);
		fputc('\n', stderr);
		return TOOL_EXIT_TIMEOUT;
	}
	if (wait_rc == TOOL_EXIT_CONNECT)
		return wait_rc; /* on_lost said why */
	if (wait_rc && !asked) {
		fprintf(stderr, "%s: interrupted after %ld of %ld messages\n", o->prog, got,
		        o->count);
		return TOOL_EXIT_ERROR;
	}
	return TOOL_EXIT_OK;
}

static int sub_run(const struct tool_options *o)
{
	int rc = tool_run_start(&run, o, on_message);
	if (rc)
		return rc;
	rc = subscribe(o);
	if (!rc)
		rc = outcome(o, tool_run_wait(&run, enough, true));
	int f = tool_run_finish(&run);
	return rc ? rc : f;
}

int main(int argc, char **argv)
{
	struct tool_options o;
	int rc = tool_options_parse(&o, TOOL_SUB, argc, argv);
	if (rc < 0)
		rc = sub_run(&o);
	tool_options_free(&o);
	return rc;
}
