/*
 * ferry_pub.c - ferry-pub: connect, publish one message (-m, -f, -s, -n) or
 * one message per line of standard input (-l), wait until every publish has
 * completed (written for QoS 0, PUBACK for QoS 1, PUBCOMP for QoS 2), then
 * disconnect cleanly. Exit status: see enum tool_exit in options.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/ferry.h"
#include "options.h"

/* Largest payload a PUBLISH can carry, less room for its header and topic. */
#define MAX_PAYLOAD (268435455u - 65536u - 16u)

/* Publishes not yet completed before reading more lines of -l. */
#define LINE_WINDOW 1000u

static struct tool_run run; /* lives until exit: the signal thread uses it */

/* Reads all of f into *out (malloc'd, *len bytes). Returns 0 or -1 with errno. */
static int read_all(FILE *f, char **out, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb = ncap <= (size_t)MAX_PAYLOAD + 4096u ? realloc(buf, ncap) : NULL;
			if (!nb) {
				free(buf);
				errno = cap ? EFBIG : ENOMEM;
				return -1;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f) || n > MAX_PAYLOAD) {
		int e = ferror(f) ? EIO : EFBIG;
		free(buf);
		errno = e;
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Loads the single message of -f or -s before connecting. */
static int load_payload(const struct tool_options *o, char **buf, size_t *len)
{
	if (o->source == TOOL_SRC_FILE) {
		FILE *f = fopen(o->file, "rb");
		if (!f) {
			fprintf(stderr, "%s: cannot open '%s': %s\n", o->prog, o->file,
			        strerror(errno));
			return TOOL_EXIT_ERROR;
		}
		int rc = read_all(f, buf, len);
		int e = errno;
		fclose(f);
		if (rc) {
			fprintf(stderr, "%s: cannot read '%s': %s\n", o->prog, o->file,
			        strerror(e));
			return TOOL_EXIT_ERROR;
		}
	} else if (o->source == TOOL_SRC_STDIN_FILE) {
		if (read_all(stdin, buf, len)) {
			fprintf(stderr, "%s: cannot read standard input: %s\n", o->prog,
			        strerror(errno));
			return TOOL_EXIT_ERROR;
		}
	}
	return TOOL_EXIT_OK;
}

/* Completion of one publish: count it, keep the first failure. */
static void on_publish_done(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	struct tool_run *r = user;
	pthread_mutex_lock(&r->mu);
	r->completed++;
	if (res->rc && !r->fail_rc) {
		r->fail_rc = res->rc;
		r->fail_reason = res->reason_code;
	}
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Hands one message to ferry; counts it as issued when accepted. */
static int publish(const struct tool_options *o, const void *payload, size_t len)
{
	struct ferry_call call = {.on_done = on_publish_done, .user = &run};
	pthread_mutex_lock(&run.mu);
	run.issued++; /* before the call: its completion may come at once */
	pthread_mutex_unlock(&run.mu);
	int rc =
	    ferry_publish(run.client, o->topics[0], payload, len, o->qos, o->retain, &call, NULL);
	if (!rc)
		return TOOL_EXIT_OK;
	pthread_mutex_lock(&run.mu);
	run.issued--;
	pthread_mutex_unlock(&run.mu);
	tool_report(o, "publish", rc);
	switch (rc) {
	case FERRY_ERR_INVAL:
	case FERRY_ERR_TOPIC_NAME:
	case FERRY_ERR_UTF8:
	case FERRY_ERR_UTF8_NUL:
		fprintf(stderr, "%s: invalid topic '%s'\n", o->prog, o->topics[0]);
		return TOOL_EXIT_USAGE;
	default:
		return TOOL_EXIT_ERROR;
	}
}

static bool all_completed(const struct tool_run *r)
{
	return r->completed == r->issued;
}

static bool window_open(const struct tool_run *r)
{
	return r->issued - r->completed < LINE_WINDOW;
}

/* Says why waiting for the completions failed. */
static int report_wait(const struct tool_options *o, int rc)
{
	if (rc == TOOL_EXIT_OK)
		return rc;
	if (rc == TOOL_EXIT_TIMEOUT)
		fprintf(stderr, "%s: timed out waiting for the broker (-W %d)\n", o->prog,
		        o->timeout_s);
	else if (run.interrupted)
		fprintf(stderr, "%s: interrupted\n", o->prog);
	else if (run.lost)
		fprintf(stderr, "%s: the connection was lost before every message was delivered\n",
		        o->prog);
	return rc;
}

/* -l: one message per line, the newline (and a CR before it) removed. */
static int publish_lines(const struct tool_options *o)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = TOOL_EXIT_OK;
	while (!rc && !tool_run_interrupted(&run) && (n = getline(&line, &cap, stdin)) >= 0) {
		size_t len = (size_t)n;
		if (len && line[len - 1] == '\n')
			len--;
		if (len && line[len - 1] == '\r')
			len--;
		if (!len)
			continue;
		rc = publish(o, line, len);
		if (!rc)
			rc = report_wait(o, tool_run_wait(&run, window_open, false));
		if (!rc && tool_run_expired(&run))
			rc = report_wait(o, TOOL_EXIT_TIMEOUT);
	}
	if (!rc && tool_run_interrupted(&run)) {
		fprintf(stderr, "%s: interrupted\n", o->prog);
		rc = TOOL_EXIT_ERROR;
	} else if (!rc && ferror(stdin)) {
		fprintf(stderr, "%s: cannot read standard input: %s\n", o->prog, strerror(errno));
		rc = TOOL_EXIT_ERROR;
	}
	free(line);
	return rc;
}

static int pub_run(const struct tool_options *o)
{
	char *payload = NULL;
	size_t len = 0;
	int rc = load_payload(o, &payload, &len);
	if (rc)
		return rc;
	rc = tool_run_start(&run, o, NULL);
	if (rc) {
		free(payload);
		return rc;
	}
	if (o->source == TOOL_SRC_STDIN_LINE)
		rc = publish_lines(o);
	else if (o->source == TOOL_SRC_MESSAGE)
		rc = publish(o, o->message, strlen(o->message));
	else
		rc = publish(o, payload, len);
	free(payload);
	if (rc == TOOL_EXIT_OK || rc == TOOL_EXIT_USAGE) {
		int w = tool_run_wait(&run, all_completed, false);
		if (!rc)
			rc = report_wait(o, w);
	}
	if (!rc && run.fail_rc) {
		tool_report(o, "publish failed", run.fail_rc);
		if (run.fail_reason >= 0)
			fprintf(stderr, "%s: the broker's reason code: %d (0x%02x)\n", o->prog,
			        run.fail_reason, (unsigned)run.fail_reason);
		rc = TOOL_EXIT_ERROR;
	}
	int f = tool_run_finish(&run);
	return rc ? rc : f;
}

int main(int argc, char **argv)
{
	struct tool_options o;
	int rc = tool_options_parse(&o, TOOL_PUB, argc, argv);
	if (rc < 0)
		rc = pub_run(&o);
	tool_options_free(&o);
	if (fflush(stdout) && !rc)
		rc = TOOL_EXIT_ERROR;
	return rc;
}
