/*
 * options.c - the command line of ferry-pub and ferry-sub: one table that
 * feeds getopt_long, the checks after parsing, and --help; plus the helpers
 * both tools use to connect, wait with a deadline, and disconnect.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Identifiers of the options that have no short letter. */
enum {
	OPT_WILL_TOPIC = 256,
	OPT_WILL_PAYLOAD,
	OPT_WILL_QOS,
	OPT_WILL_RETAIN,
	OPT_HELP,
	OPT_VERSION,
	OPT_STORE,
	OPT_CAFILE,
	OPT_CAPATH,
	OPT_CERT,
	OPT_KEY,
	OPT_TLS_VERSION,
	OPT_INSECURE,
	OPT_PROXY,
};

/*
 * One row per option. A NULL help text for a tool means the tool refuses
 * the option; arg names the value in --help (NULL: no value).
 */
struct tool_opt {
	const char *name;
	int id;
	const char *arg;
	const char *help_pub;
	const char *help_sub;
};

#define BOTH(text) text, text

static const struct tool_opt table[] = {
    {"host", 'h', "HOST", BOTH("broker host name or address (default localhost)")},
    {"port", 'p', "PORT", BOTH("broker port (default 1883)")},
    {"url", 'L', "URL", "tcp://[USER[:PASS]@]HOST[:PORT]/TOPIC, sets all of these",
     "tcp://[USER[:PASS]@]HOST[:PORT]/FILTER, sets all of these"},
    {"topic", 't', "TOPIC", "topic to publish to", "topic filter to subscribe to (repeatable)"},
    {"message", 'm', "MSG", "publish MSG as the message", NULL},
    {"file", 'f', "FILE", "publish the content of FILE as one message", NULL},
    {"stdin-file", 's', NULL, "publish all of standard input as one message", NULL},
    {"stdin-line", 'l', NULL, "publish each line of standard input (blank lines skipped)", NULL},
    {"null-message", 'n', NULL, "publish an empty (zero-length) message", NULL},
    {"qos", 'q', "QOS", "quality of service 0, 1 or 2 (default 0)",
     "requested quality of service 0, 1 or 2 (default 0)"},
    {"retain", 'r', NULL, "ask the broker to retain the message", NULL},
    {"protocol-version", 'V', "VER",
     BOTH("mqttv31, mqttv311 (default) or mqttv5; also 31, 311, 5")},
    {"id", 'i', "ID", BOTH("client identifier (default PROGRAM-PID)")},
    {"username", 'u', "USER", BOTH("user name")},
    {"pw", 'P', "PASS", BOTH("password (with -u, or alone with MQTT 5)")},
    {"will-topic", OPT_WILL_TOPIC, "TOPIC", BOTH("topic of the last will")},
    {"will-payload", OPT_WILL_PAYLOAD, "MSG", BOTH("payload of the last will")},
    {"will-qos", OPT_WILL_QOS, "QOS", BOTH("quality of service of the last will")},
    {"will-retain", OPT_WILL_RETAIN, NULL, BOTH("retain the last will")},
    {"keepalive", 'k', "SECS", BOTH("keepalive interval, 0 = off (default 60)")},
    {"disable-clean-session", 'c', NULL, BOTH("keep the session on the broker (needs -i)")},
    {"count", 'C', "N", NULL, "exit after N messages"},
    {"timeout", 'W', "SECS", "fail (exit 4) if not done SECS seconds after start",
     "stop after SECS seconds; exit 4 if fewer than -C messages (or none) came"},
    {"verbose", 'v', NULL, NULL, "print \"TOPIC PAYLOAD\" instead of the payload"},
    {"debug", 'd', NULL, BOTH("print ferry's debug log on standard error")},
    {"help", OPT_HELP, NULL, BOTH("print this help and exit")},
    {"version", OPT_VERSION, NULL, BOTH("print the version and exit")},
    {"cafile", OPT_CAFILE, "FILE", BOTH("TLS: trust the CAs in this PEM file (default: the system's)")},
    {"capath", OPT_CAPATH, "DIR", BOTH("TLS: trust the CAs in this hashed directory")},
    {"cert", OPT_CERT, "FILE", BOTH("TLS: client certificate (PEM), for mutual TLS")},
    {"key", OPT_KEY, "FILE", BOTH("TLS: its private key (PEM)")},
    {"tls-version", OPT_TLS_VERSION, "VER", BOTH("TLS: lowest version, tlsv1.2 (default) or tlsv1.3")},
    {"insecure", OPT_INSECURE, NULL,
     BOTH("TLS: do not verify the server's certificate or name (tests only)")},
    {"proxy", OPT_PROXY, "URL",
     BOTH("connect through a proxy: http://[USER:PASS@]HOST:PORT or socks5://...")},
    {"store", OPT_STORE, "FILE",
     BOTH("keep the session and unacknowledged QoS 1/2 messages in this SQLite file (needs -i)")},
};

#define NOPTS (sizeof table / sizeof table[0])

static const char *help_of(const struct tool_opt *t, enum tool_kind kind)
{
	return kind == TOOL_PUB ? t->help_pub : t->help_sub;
}

static void print_synopsis(FILE *f, const struct tool_options *o)
{
	if (o->kind == TOOL_PUB)
		fprintf(f, "Usage: %s [OPTION]... -t TOPIC {-m MSG | -f FILE | -s | -l | -n}\n",
		        o->prog);
	else
		fprintf(f, "Usage: %s [OPTION]... -t FILTER [-t FILTER]...\n", o->prog);
}

static void print_help(const struct tool_options *o)
{
	print_synopsis(stdout, o);
	puts(o->kind == TOOL_PUB ? "Publish MQTT messages with ferry, then disconnect."
	                         : "Subscribe with ferry and print the messages that arrive.");
	puts("");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct tool_opt *t = &table[i];
		const char *h = help_of(t, o->kind);
		if (!h)
			continue;
		char left[64];
		if (t->id < 256)
			snprintf(left, sizeof left, "-%c, --%s%s%s", t->id, t->name,
			         t->arg ? " " : "", t->arg ? t->arg : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", t->name, t->arg ? " " : "",
			         t->arg ? t->arg : "");
		printf("  %-28s %s\n", left, h);
	}
	puts("\nAny TLS option, or an mqtts:// URL, connects with TLS (port 8883 unless given).\n");
	puts("Exit status: 0 success; 1 other error (I/O, lost connection, rejected\n"
	     "operation); 2 bad arguments; 3 connection failed or refused; 4 timeout (-W).");
}

__attribute__((format(printf, 2, 3))) static int usage_error(const struct tool_options *o,
                                                             const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", o->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_synopsis(stderr, o);
	fprintf(stderr, "Try '%s --help' for more information.\n", o->prog);
	return TOOL_EXIT_USAGE;
}

/* Parses a whole decimal integer in lo..hi; false if it is not one. */
static bool parse_int(const char *s, long lo, long hi, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_int_opt(const char *s, int lo, int hi, int *out)
{
	long v = 0;
	if (!parse_int(s, lo, hi, &v))
		return false;
	*out = (int)v;
	return true;
}

static bool parse_version(const char *s, int *out)
{
	static const struct {
		const char *name;
		int v;
	} names[] = {
	    {"mqttv31", FERRY_MQTT_3_1}, {"31", FERRY_MQTT_3_1},   {"mqttv311", FERRY_MQTT_3_1_1},
	    {"311", FERRY_MQTT_3_1_1},   {"mqttv5", FERRY_MQTT_5}, {"5", FERRY_MQTT_5},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcasecmp(s, names[i].name)) {
			*out = names[i].v;
			return true;
		}
	return false;
}

/* Adds a topic (sub) or replaces it (pub: the last one wins). */
static int add_topic(struct tool_options *o, const char *t)
{
	if (o->kind == TOOL_PUB && o->ntopics) {
		o->topics[0] = t;
		return 0;
	}
	const char **n = realloc(o->topics, (o->ntopics + 1) * sizeof *n);
	if (!n) {
		fprintf(stderr, "%s: out of memory\n", o->prog);
		return TOOL_EXIT_ERROR;
	}
	o->topics = n;
	o->topics[o->ntopics++] = t;
	return 0;
}

/* Splits "[USER[:PASS]@]HOST[:PORT][/TOPIC]" (a private copy) into o. */
static int parse_url_rest(struct tool_options *o, char *s, const char *url)
{
	char *at = strchr(s, '@');
	char *slash = strchr(s, '/');
	if (at && (!slash || at < slash)) {
		*at = '\0';
		char *colon = strchr(s, ':');
		if (colon) {
			*colon = '\0';
			o->password = colon + 1;
		}
		o->username = s;
		s = at + 1;
		slash = strchr(s, '/');
	}
	if (slash) {
		*slash = '\0';
		if (slash[1]) {
			int rc = add_topic(o, slash + 1);
			if (rc)
				return rc;
		}
	}
	char *port = NULL;
	if (*s == '[') {
		char *close = strchr(s, ']');
		if (!close || (close[1] && close[1] != ':'))
			return usage_error(o, "bad URL '%s' (unterminated '[')", url);
		*close = '\0';
		port = close[1] ? close + 2 : NULL;
		s++;
	} else if ((port = strchr(s, ':')) != NULL) {
		*port++ = '\0';
	}
	if (!*s)
		return usage_error(o, "bad URL '%s' (no host)", url);
	o->host = s;
	if (port && !parse_int_opt(port, 1, 65535, &o->port))
		return usage_error(o, "bad URL '%s' (port must be 1..65535)", url);
	o->port_given = o->port_given || port != NULL;
	return 0;
}

/* --proxy http://[USER[:PASS]@]HOST:PORT or socks5://[USER[:PASS]@]HOST:PORT */
static int parse_proxy(struct tool_options *o, const char *url)
{
	struct ferry_proxy_options *p = &o->proxy_opts;
	size_t skip = 0;
	if (!strncasecmp(url, "http://", 7)) {
		p->type = FERRY_PROXY_HTTP;
		skip = 7;
	} else if (!strncasecmp(url, "socks5://", 9) || !strncasecmp(url, "socks5h://", 10)) {
		p->type = FERRY_PROXY_SOCKS5;
		skip = url[6] == 'h' || url[6] == 'H' ? 10 : 9;
	} else {
		return usage_error(o, "bad proxy URL '%s' (http:// or socks5://)", url);
	}
	free(o->proxy_copy);
	char *s = o->proxy_copy = strdup(url + skip);
	if (!s) {
		fprintf(stderr, "%s: out of memory\n", o->prog);
		return TOOL_EXIT_ERROR;
	}
	char *at = strrchr(s, '@');
	if (at) {
		*at = '\0';
		char *colon = strchr(s, ':');
		if (colon)
			*colon++ = '\0';
		p->username = s;
		p->password = colon ? colon : "";
		s = at + 1;
	}
	char *slash = strchr(s, '/');
	if (slash && slash[1])
		return usage_error(o, "bad proxy URL '%s' (no path allowed)", url);
	if (slash)
		*slash = '\0';
	char *port = NULL;
	if (*s == '[') {
		char *close = strchr(++s, ']');
		if (!close || close[1] != ':')
			return usage_error(o, "bad proxy URL '%s' (needs [ADDRESS]:PORT)", url);
		*close = '\0';
		port = close + 2;
	} else if ((port = strrchr(s, ':')) != NULL) {
		*port++ = '\0';
	}
	if (!*s || !port || !parse_int_opt(port, 1, 65535, &p->port))
		return usage_error(o, "bad proxy URL '%s' (needs HOST:PORT, port 1..65535)", url);
	p->host = s;
	return 0;
}

static int parse_url(struct tool_options *o, const char *url)
{
	if (!strncasecmp(url, "ws://", 5) || !strncasecmp(url, "wss://", 6))
		return usage_error(o, "URL '%s': WebSocket is not offered by the tools (the library "
		                      "has it: see doc/websocket.md)", url);
	size_t skip = 0;
	if (!strncasecmp(url, "tcp://", 6))
		skip = 6;
	else if (!strncasecmp(url, "mqtt://", 7))
		skip = 7;
	else if (!strncasecmp(url, "mqtts://", 8))
		skip = 8;
	else if (!strncasecmp(url, "ssl://", 6))
		skip = 6;
	else
		return usage_error(o, "bad URL '%s' (expected mqtt[s]://HOST[:PORT]/TOPIC)", url);
	if (skip == 8 || !strncasecmp(url, "ssl://", 6))
		o->tls = true;
	free(o->uri_copy);
	o->uri_copy = strdup(url + skip);
	if (!o->uri_copy) {
		fprintf(stderr, "%s: out of memory\n", o->prog);
		return TOOL_EXIT_ERROR;
	}
	return parse_url_rest(o, o->uri_copy, url);
}

/* Long names of the options that need no check beyond their value. */
static int take_number(struct tool_options *o, int id, const char *arg)
{
	switch (id) {
	case 'p':
		if (!parse_int_opt(arg, 1, 65535, &o->port))
			return usage_error(o, "bad port '%s' (1..65535)", arg);
		o->port_given = true;
		return 0;
	case 'q':
		if (!parse_int_opt(arg, 0, 2, &o->qos))
			return usage_error(o, "bad QoS '%s' (0, 1 or 2)", arg);
		return 0;
	case OPT_WILL_QOS:
		if (!parse_int_opt(arg, 0, 2, &o->will_qos))
			return usage_error(o, "bad will QoS '%s' (0, 1 or 2)", arg);
		return 0;
	case 'k':
		if (!parse_int_opt(arg, 0, 65535, &o->keepalive))
			return usage_error(o, "bad keepalive '%s' (0..65535 seconds)", arg);
		return 0;
	case 'C':
		if (!parse_int(arg, 1, LONG_MAX, &o->count))
			return usage_error(o, "bad count '%s' (a positive number)", arg);
		return 0;
	case 'W':
		if (!parse_int_opt(arg, 1, 2000000, &o->timeout_s))
			return usage_error(o, "bad timeout '%s' (1..2000000 seconds)", arg);
		return 0;
	default:
		return usage_error(o, "internal error: option %d", id);
	}
}

static int set_source(struct tool_options *o, enum tool_source s)
{
	if (o->source != TOOL_SRC_NONE && o->source != s)
		return usage_error(o, "only one of -m, -f, -s, -l and -n may be given");
	o->source = s;
	return 0;
}

/* The field an option that takes a plain string sets, or NULL. */
static const char **string_field(struct tool_options *o, int id)
{
	switch (id) {
	case 'h':
		return &o->host;
	case 'i':
		return &o->id;
	case 'u':
		return &o->username;
	case 'P':
		return &o->password;
	case OPT_WILL_TOPIC:
		return &o->will_topic;
	case OPT_WILL_PAYLOAD:
		return &o->will_payload;
	case OPT_STORE:
		return &o->store;
	case OPT_CAFILE:
		return &o->cafile;
	case OPT_CAPATH:
		return &o->capath;
	case OPT_CERT:
		return &o->cert;
	case OPT_KEY:
		return &o->key;
	case OPT_TLS_VERSION:
		return &o->tls_version;
	default:
		return NULL;
	}
}

/* The flag an option without a value turns on, or NULL. */
static bool *flag_field(struct tool_options *o, int id)
{
	switch (id) {
	case 'r':
		return &o->retain;
	case OPT_WILL_RETAIN:
		return &o->will_retain;
	case 'v':
		return &o->verbose;
	case 'd':
		return &o->debug;
	case OPT_INSECURE:
		return &o->insecure;
	default:
		return NULL;
	}
}

static int take_option(struct tool_options *o, int id, const char *arg)
{
	const char **str = string_field(o, id);
	bool *flag = flag_field(o, id);
	if (str) {
		*str = arg;
		return 0;
	}
	if (flag) {
		*flag = true;
		return 0;
	}
	switch (id) {
	case 'L':
		return parse_url(o, arg);
	case 't':
		return add_topic(o, arg);
	case 'm':
		o->message = arg;
		return set_source(o, TOOL_SRC_MESSAGE);
	case 'f':
		o->file = arg;
		return set_source(o, TOOL_SRC_FILE);
	case 's':
		return set_source(o, TOOL_SRC_STDIN_FILE);
	case 'l':
		return set_source(o, TOOL_SRC_STDIN_LINE);
	case 'n':
		return set_source(o, TOOL_SRC_NULL);
	case 'c':
		o->clean = false;
		return 0;
	case 'V':
		if (!parse_version(arg, &o->version))
			return usage_error(
			    o, "bad protocol version '%s' (mqttv31, mqttv311 or mqttv5)", arg);
		return 0;
	case OPT_PROXY:
		return parse_proxy(o, arg);
	default:
		return take_number(o, id, arg);
	}
}

/* TLS settings from the TLS options; -1 to go on, else an exit status. */
static int check_tls(struct tool_options *o)
{
	o->tls = o->tls || o->cafile || o->capath || o->cert || o->key || o->tls_version || o->insecure;
	if (!o->tls)
		return -1;
	struct ferry_tls_options *t = &o->tls_opts;
	*t = (struct ferry_tls_options)FERRY_TLS_OPTIONS_INIT;
	t->ca_file = o->cafile;
	t->ca_dir = o->capath;
	t->cert_file = o->cert;
	t->key_file = o->key;
	t->insecure = o->insecure;
	if (o->key && !o->cert)
		return usage_error(o, "--key needs --cert");
	if (o->tls_version) {
		if (!strcasecmp(o->tls_version, "tlsv1.2"))
			t->min_version = FERRY_TLS_1_2;
		else if (!strcasecmp(o->tls_version, "tlsv1.3"))
			t->min_version = FERRY_TLS_1_3;
		else
			return usage_error(o, "bad --tls-version '%s' (tlsv1.2 or tlsv1.3)",
			                   o->tls_version);
	}
	if (!o->port_given)
		o->port = 8883;
	return -1;
}

/* Checks that need the whole command line. */
static int check_options(struct tool_options *o)
{
	if (!o->ntopics)
		return usage_error(o, "no topic %sgiven (-t)",
		                   o->kind == TOOL_PUB ? "" : "filter ");
	if (o->kind == TOOL_PUB && o->source == TOOL_SRC_NONE)
		return usage_error(o, "no message given (-m, -f, -s, -l or -n)");
	if (!o->clean && !o->id)
		return usage_error(o, "-c (keep the session) needs a fixed client id (-i)");
	if (o->store && !o->id)
		return usage_error(o, "--store needs a fixed client id (-i): the store is keyed by it");
	if (!o->will_topic && (o->will_payload || o->will_qos || o->will_retain))
		return usage_error(
		    o, "--will-payload, --will-qos and --will-retain need --will-topic");
	if (o->password && !o->username && o->version != FERRY_MQTT_5)
		return usage_error(o, "-P needs -u before MQTT 5");
	if (!o->id) {
		snprintf(o->id_buf, sizeof o->id_buf, "%s-%ld", o->prog, (long)getpid());
		o->id = o->id_buf;
	}
	int rc = check_tls(o);
	if (rc >= 0)
		return rc;
	bool v6 = strchr(o->host, ':') != NULL;
	int n = snprintf(o->uri, sizeof o->uri, "%s://%s%s%s:%d", o->tls ? "mqtts" : "tcp",
	                 v6 ? "[" : "", o->host, v6 ? "]" : "", o->port);
	if (n < 0 || (size_t)n >= sizeof o->uri)
		return usage_error(o, "host name too long: '%s'", o->host);
	return -1;
}

/* Builds getopt_long's tables for one tool from the one table above. */
static void build_getopt(enum tool_kind kind, struct option *lo, char *shorts)
{
	size_t n = 0, s = 0;
	shorts[s++] = ':';
	for (size_t i = 0; i < NOPTS; i++) {
		const struct tool_opt *t = &table[i];
		bool mine = help_of(t, kind) != NULL;
		if (!mine)
			continue;
		lo[n++] =
		    (struct option){t->name, t->arg ? required_argument : no_argument, NULL, t->id};
		if (t->id < 256) {
			shorts[s++] = (char)t->id;
			if (t->arg)
				shorts[s++] = ':';
		}
	}
	lo[n] = (struct option){NULL, 0, NULL, 0};
	shorts[s] = '\0';
}

/* Names an option getopt_long did not accept, as the user typed it. */
static int unknown_option(struct tool_options *o, char **argv)
{
	char what[8];
	const char *arg = argv[optind - 1];
	if (optopt && strncmp(arg, "--", 2)) {
		snprintf(what, sizeof what, "-%c", optopt);
		arg = what;
	}
	for (size_t i = 0; i < NOPTS; i++)
		if (optopt == table[i].id && table[i].id < 256)
			return usage_error(o, "option '%s' is not an option of this tool", arg);
	return usage_error(o, "unknown option '%s'", arg);
}

int tool_options_parse(struct tool_options *o, enum tool_kind kind, int argc, char **argv)
{
	*o = (struct tool_options){.kind = kind,
	                           .host = "localhost",
	                           .port = 1883,
	                           .version = FERRY_MQTT_3_1_1,
	                           .keepalive = 60,
	                           .clean = true,
	                           .proxy_opts = FERRY_PROXY_OPTIONS_INIT};
	o->prog = kind == TOOL_PUB ? "ferry-pub" : "ferry-sub";
	struct option lo[NOPTS + 1];
	char shorts[2 * NOPTS + 2];
	build_getopt(kind, lo, shorts);
	opterr = 0;
	optind = 1;
	int id, idx = -1;
	while ((id = getopt_long(argc, argv, shorts, lo, &idx)) != -1) {
		int rc;
		if (id == '?')
			return unknown_option(o, argv);
		if (id == ':')
			return usage_error(o, "option '%s' needs a value", argv[optind - 1]);
		if (id == OPT_HELP) {
			print_help(o);
			return TOOL_EXIT_OK;
		}
		if (id == OPT_VERSION) {
			const char *v = NULL;
			ferry_version(&v);
			printf("%s (ferry) %s\n", o->prog, v);
			return TOOL_EXIT_OK;
		}
		rc = take_option(o, id, optarg);
		if (rc)
			return rc;
		idx = -1;
	}
	if (optind < argc)
		return usage_error(o, "unexpected argument '%s'", argv[optind]);
	return check_options(o);
}

void tool_options_free(struct tool_options *o)
{
	free(o->topics);
	o->topics = NULL;
	o->ntopics = 0;
	free(o->uri_copy);
	o->uri_copy = NULL;
	free(o->proxy_copy);
	o->proxy_copy = NULL;
}

/* ---- running -------------------------------------------------------------- */

void tool_report(const struct tool_options *o, const char *what, int rc)
{
	fprintf(stderr, "%s: %s: %s (%s)\n", o->prog, what, ferry_strerror(rc), ferry_errname(rc));
}

static void add_ms(struct timespec *ts, long ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/* SIGUSR1 only interrupts a blocking read of the main thread (no SA_RESTART). */
static void on_wake(int sig)
{
	(void)sig;
}

/*
 * Takes SIGINT, SIGTERM and SIGHUP: the first ends the wait in progress (and
 * a read of standard input, by SIGUSR1 to the main thread); a second exits
 * at once.
 */
static void *signal_main(void *arg)
{
	struct tool_run *r = arg;
	sigset_t set;
	stop_signals(&set);
	for (int n = 0;; n++) {
		int sig = 0;
		if (sigwait(&set, &sig))
			return NULL;
		if (n)
			_exit(TOOL_EXIT_ERROR);
		pthread_mutex_lock(&r->mu);
		r->interrupted = true;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_kill(r->main_thread, SIGUSR1);
	}
}

static int start_signal_thread(struct tool_run *r)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_wake;
	sigemptyset(&sa.sa_mask);
	sigset_t set;
	stop_signals(&set);
	r->main_thread = pthread_self();
	pthread_t t;
	int rc = sigaction(SIGUSR1, &sa, NULL);
	if (!rc)
		rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!rc)
		rc = pthread_create(&t, NULL, signal_main, r);
	if (!rc)
		rc = pthread_detach(t);
	return rc;
}

bool tool_run_interrupted(struct tool_run *r)
{
	pthread_mutex_lock(&r->mu);
	bool i = r->interrupted;
	pthread_mutex_unlock(&r->mu);
	return i;
}

static void on_connect_done(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	struct tool_run *r = user;
	pthread_mutex_lock(&r->mu);
	r->connect_done = true;
	r->connect_rc = res->rc;
	r->connect_reason = res->reason_code;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	(void)c;
	struct tool_run *r = user;
	/* With auto_reconnect, a refusal is only reported once ferry stopped trying. */
	bool gave_up = r->opt->kind == TOOL_SUB && cause == FERRY_ERR_CONNECT_REFUSED;
	pthread_mutex_lock(&r->mu);
	r->lost = true;
	r->gave_up = r->gave_up || gave_up;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	fprintf(stderr, "%s: connection lost: %s (%s)%s\n", r->opt->prog, text,
	        ferry_errname(cause),
	        gave_up                    ? "; the broker refused to reconnect, giving up"
	        : r->opt->kind == TOOL_SUB ? "; reconnecting"
	                                   : "");
}

static void on_log(void *user, int level, const char *text)
{
	static const char *const names[] = {"?", "error", "warning", "info", "debug"};
	const struct tool_run *r = user;
	fprintf(stderr, "%s: %s: %s\n", r->opt->prog, names[level >= 1 && level <= 4 ? level : 0],
	        text);
}

static void client_options(struct tool_run *r, struct ferry_client_options *co,
                           struct ferry_will_options *will, ferry_message_cb on_message)
{
	const struct tool_options *o = r->opt;
	co->server_uri = o->uri;
	co->client_id = o->id;
	co->mqtt_version = o->version;
	co->keepalive_s = o->keepalive;
	co->clean_session = o->clean;
	co->store_path = o->store;
	co->tls = o->tls ? &o->tls_opts : NULL;
	co->proxy = o->proxy_opts.type != FERRY_PROXY_NONE ? &o->proxy_opts : NULL;
	co->username = o->username;
	co->password = o->password;
	co->password_len = o->password ? strlen(o->password) : 0;
	if (o->will_topic) {
		*will = (struct ferry_will_options){
		    .topic = o->will_topic,
		    .payload = o->will_payload ? o->will_payload : "",
		    .payload_len = o->will_payload ? strlen(o->will_payload) : 0,
		    .qos = o->will_qos,
		    .retain = o->will_retain,
		};
		co->will = will;
	}
	if (o->timeout_s && o->timeout_s < 30)
		co->connect_timeout_ms = o->timeout_s * 1000;
	co->user = r;
	co->on_connection_lost = on_lost;
	co->on_message = on_message;
	if (o->debug) {
		co->on_log = on_log;
		co->log_level = FERRY_LOG_DEBUG;
	}
	/* ferry-sub rides out a lost connection like any long-lived client;
	 * ferry-pub fails instead of waiting for a broker that may never return. */
	co->auto_reconnect = o->kind == TOOL_SUB;
	co->refused_policy = FERRY_REFUSED_STOP;
}

static bool is_connect_done(const struct tool_run *r)
{
	return r->connect_done;
}

static int create_client(struct tool_run *r, ferry_message_cb on_message)
{
	struct ferry_client_options co = FERRY_CLIENT_OPTIONS_INIT;
	struct ferry_will_options will;
	client_options(r, &co, &will, on_message);
	int rc = ferry_client_create(&co, &r->client);
	if (!rc)
		return TOOL_EXIT_OK;
	r->client = NULL;
	bool store = rc <= FERRY_ERR_STORE_IO && rc >= FERRY_ERR_STORE_VERSION;
	bool tls = rc == FERRY_ERR_TLS_CONFIG;
	tool_report(r->opt,
	            store ? "cannot use the --store file"
	            : tls ? "cannot use the TLS files (--cafile, --capath, --cert, --key)"
	                  : "invalid client options",
	            rc);
	return rc == FERRY_ERR_NOMEM || rc == FERRY_ERR_SYSTEM || store || tls ? TOOL_EXIT_ERROR
	                                                                       : TOOL_EXIT_USAGE;
}

/* Connect failures that come from the options themselves (client id, will). */
static bool is_argument_error(int rc)
{
	return rc == FERRY_ERR_CLIENT_ID || rc == FERRY_ERR_UTF8 || rc == FERRY_ERR_UTF8_NUL ||
	       rc == FERRY_ERR_TOPIC_NAME || rc == FERRY_ERR_STRING_TOO_LONG ||
	       rc == FERRY_ERR_INVAL;
}

int tool_run_start(struct tool_run *r, const struct tool_options *o, ferry_message_cb on_message)
{
	memset(r, 0, sizeof *r);
	r->opt = o;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &a);
	pthread_condattr_destroy(&a);
	if (o->timeout_s) {
		clock_gettime(CLOCK_MONOTONIC, &r->deadline);
		add_ms(&r->deadline, (long)o->timeout_s * 1000L);
		r->has_deadline = true;
	}
	if (start_signal_thread(r)) {
		fprintf(stderr, "%s: could not start the signal thread\n", o->prog);
		return TOOL_EXIT_ERROR;
	}
	int rc = create_client(r, on_message);
	if (rc)
		return rc;
	rc = ferry_connect(r->client, &(struct ferry_call){.on_done = on_connect_done, .user = r}, NULL);
	if (rc) {
		tool_report(o, "connect", rc);
		tool_run_finish(r);
		return TOOL_EXIT_CONNECT;
	}
	rc = tool_run_wait(r, is_connect_done, true);
	if (rc == TOOL_EXIT_OK && r->connect_rc) {
		char what[400];
		snprintf(what, sizeof what, "connecting to %s failed", o->uri);
		tool_report(o, what, r->connect_rc);
		if (r->connect_reason >= 0)
			fprintf(stderr, "%s: the broker's reason code: %d (0x%02x)\n", o->prog,
			        r->connect_reason, (unsigned)r->connect_reason);
		rc = is_argument_error(r->connect_rc) ? TOOL_EXIT_USAGE : TOOL_EXIT_CONNECT;
	} else if (rc == TOOL_EXIT_TIMEOUT) {
		fprintf(stderr, "%s: timed out connecting to %s (-W %d)\n", o->prog, o->uri,
		        o->timeout_s);
	}
	if (rc)
		tool_run_finish(r);
	return rc;
}

int tool_run_wait(struct tool_run *r, bool (*done)(const struct tool_run *r), bool keep_on_loss)
{
	int rc = TOOL_EXIT_OK;
	pthread_mutex_lock(&r->mu);
	while (!done(r)) {
		if (r->gave_up) {
			rc = TOOL_EXIT_CONNECT;
			break;
		}
		if (r->interrupted || (!keep_on_loss && r->lost)) {
			rc = TOOL_EXIT_ERROR;
			break;
		}
		int w = r->has_deadline ? pthread_cond_timedwait(&r->cv, &r->mu, &r->deadline)
		                        : pthread_cond_wait(&r->cv, &r->mu);
		if (w == ETIMEDOUT && !done(r)) {
			rc = TOOL_EXIT_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

bool tool_run_expired(const struct tool_run *r)
{
	if (!r->has_deadline)
		return false;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > r->deadline.tv_sec ||
	       (now.tv_sec == r->deadline.tv_sec && now.tv_nsec >= r->deadline.tv_nsec);
}

static void on_disconnect_done(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	(void)res;
	struct tool_run *r = user;
	pthread_mutex_lock(&r->mu);
	r->disconnect_done = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

int tool_run_finish(struct tool_run *r)
{
	int rc = TOOL_EXIT_OK;
	if (!r->client)
		return rc;
	if (ferry_is_connected(r->client)) {
		int d = ferry_disconnect(r->client, 1000,
		                         &(struct ferry_call){.on_done = on_disconnect_done, .user = r}, NULL);
		struct timespec limit;
		clock_gettime(CLOCK_MONOTONIC, &limit);
		add_ms(&limit, 10000);
		pthread_mutex_lock(&r->mu);
		while (!d && !r->disconnect_done)
			if (pthread_cond_timedwait(&r->cv, &r->mu, &limit) == ETIMEDOUT)
				break;
		if (d || !r->disconnect_done)
			rc = TOOL_EXIT_ERROR;
		pthread_mutex_unlock(&r->mu);
		if (rc)
			fprintf(stderr, "%s: disconnecting did not complete\n", r->opt->prog);
	}
	ferry_client_destroy(r->client);
	r->client = NULL;
	return rc;
}
