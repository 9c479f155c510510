/*
 * test_support.c - suite "support": the test-support module itself, driven by
 * a raw TCP client that writes MQTT 3.1.1 bytes by hand, so that every later
 * integration test can trust the brokers it starts.
 *
 * Real broker: CONNECT/CONNACK; stop, kill, restart on the same port; pause;
 * users and passwords (mosquitto 2.0.11 answers a bad password with 3.1.1
 * return code 5, "not authorized", checked against the real broker);
 * persistence across a restart; extra files and config; a bad config fails
 * at once; logs; cleanup removes everything.
 * Fake broker: a script against a raw client, byte-exact recording, and every
 * kind of failure reported with a readable message.
 *
 * Every socket read is bounded (SO_RCVTIMEO), every wait of the support code
 * too; nothing sleeps for a fixed time.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "ferry/error.h"
#include "suites.h"
#include "support/broker.h"
#include "support/fakebroker.h"
#include "unit/util.h"

#define READ_TIMEOUT_S 10

/* 3.1.1 CONNECT, clean session, keepalive 60, empty client id. */
#define CONNECT_311 "10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00"
#define CONNACK_OK  "20 02 00 00"

/* --- a raw MQTT client -------------------------------------------------------- */

/* Connects to 127.0.0.1:port; -1 (errno set) on failure. Reads time out after 10 s. */
static int raw_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = READ_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static bool send_bytes(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static bool send_hex(int fd, const char *hex)
{
	uint8_t buf[512];
	return send_bytes(fd, buf, test_hex(hex, buf, sizeof buf));
}

/* Reads exactly n bytes (bounded by SO_RCVTIMEO); false on EOF, error or timeout. */
static bool read_exact(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = recv(fd, p, n, 0);
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* Reads one whole MQTT frame into buf; returns its length or 0 on failure. */
static size_t read_packet(int fd, uint8_t *buf, size_t cap)
{
	size_t h = 1, rl = 0;
	if (!read_exact(fd, buf, 1))
		return 0;
	do {
		if (h > 4 || !read_exact(fd, buf + h, 1))
			return 0;
		rl |= (size_t)(buf[h] & 0x7Fu) << (7 * (h - 1));
	} while (buf[h++] & 0x80u);
	if (h + rl > cap || !read_exact(fd, buf + h, rl))
		return 0;
	return h + rl;
}

/* Whether the next packet is exactly the given hex. */
static bool expect_hex(int fd, const char *hex)
{
	uint8_t want[256], got[512];
	size_t wn = test_hex(hex, want, sizeof want);
	size_t gn = read_packet(fd, got, sizeof got);
	if (gn == wn && memcmp(got, want, wn) == 0)
		return true;
	fprintf(stderr, "\n    expected %s\n", hex);
	fprintf(stderr, "    got      %s\n",
	        gn ? test_tohex(got, gn) : "(nothing: closed or timed out)");
	return false;
}

/* Appends a two-byte length and the string. */
static void put_str(uint8_t *buf, size_t *n, const char *str)
{
	size_t len = strlen(str);
	buf[(*n)++] = (uint8_t)(len >> 8);
	buf[(*n)++] = (uint8_t)len;
	memcpy(buf + *n, str, len);
	*n += len;
}

/*
 * Sends a 3.1.1 CONNECT (clean, empty client id, optional user/password) and
 * returns the CONNACK return code, or -1 when no well-formed CONNACK came.
 */
static int mqtt_connect(int fd, const char *user, const char *pass)
{
	uint8_t buf[512] = {0x10, 0, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c};
	size_t n = 12;
	buf[9] = (uint8_t)(buf[9] | (user ? 0x80u : 0u) | (pass ? 0x40u : 0u));
	put_str(buf, &n, "");
	if (user)
		put_str(buf, &n, user);
	if (pass)
		put_str(buf, &n, pass);
	buf[1] = (uint8_t)(n - 2);
	uint8_t ack[4];
	if (!send_bytes(fd, buf, n) || !read_exact(fd, ack, 4) || ack[0] != 0x20 || ack[1] != 2)
		return -1;
	return ack[3];
}

/* Opens a connection and completes CONNECT/CONNACK; returns the socket or -1. */
static int mqtt_session(int port)
{
	int fd = raw_connect(port);
	if (fd < 0)
		return -1;
	if (!send_hex(fd, CONNECT_311) || !expect_hex(fd, CONNACK_OK)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool refuses(int port)
{
	int fd = raw_connect(port);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ECONNREFUSED;
}

static bool has(const char *msg, const char *part)
{
	if (strstr(msg, part))
		return true;
	fprintf(stderr, "\n    \"%s\" not in message \"%s\"\n", part, msg);
	return false;
}

/* Starts a broker or reports why not (with its log). */
static bool start(struct test_broker *b, const struct test_broker_opts *o)
{
	int rc = test_broker_start(b, o);
	if (rc) {
		fprintf(stderr, "\n    test_broker_start: %s: %s\n", ferry_errname(rc),
		        test_broker_error(b));
		test_broker_dump_log(b, stderr);
	}
	return rc == FERRY_OK;
}

/* --- the real broker ------------------------------------------------------------- */

static void test_connect_connack(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, NULL));
	char want[48];
	snprintf(want, sizeof want, "tcp://127.0.0.1:%d", test_broker_port(&b));
	CU_ASSERT_STRING_EQUAL(test_broker_uri(&b), want);
	CU_ASSERT(test_broker_port(&b) > 0);
	int fd = mqtt_session(test_broker_port(&b));
	CU_ASSERT(fd >= 0);
	if (fd >= 0) {
		/* The session is live: PINGREQ gets PINGRESP. */
		CU_ASSERT(send_hex(fd, "c0 00"));
		CU_ASSERT(expect_hex(fd, "d0 00"));
		close(fd);
	}
	test_broker_cleanup(&b);
}

static void test_stop(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, NULL));
	pid_t pid = b.pid;
	int port = test_broker_port(&b);
	CU_ASSERT(pid > 0);
	ASSERT_RC(test_broker_stop(&b), FERRY_OK);
	CU_ASSERT_EQUAL(b.pid, 0);
	errno = 0;
	CU_ASSERT(kill(pid, 0) != 0 && errno == ESRCH);
	CU_ASSERT(refuses(port));
	ASSERT_RC(test_broker_stop(&b), FERRY_OK); /* stopping twice is harmless */
	test_broker_cleanup(&b);
}

static void test_kill_and_restart(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, NULL));
	int port = test_broker_port(&b);
	pid_t pid = b.pid;
	ASSERT_RC(test_broker_kill(&b), FERRY_OK);
	CU_ASSERT(kill(pid, 0) != 0);
	CU_ASSERT(refuses(port));
	ASSERT_RC(test_broker_restart(&b), FERRY_OK);
	CU_ASSERT_EQUAL(test_broker_port(&b), port);
	CU_ASSERT(b.pid > 0 && b.pid != pid);
	int fd = mqtt_session(port);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	test_broker_cleanup(&b);
}

/* Restart while running and with a client connected: the client sees the close. */
static void test_restart_running(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, NULL));
	int port = test_broker_port(&b);
	pid_t pid = b.pid;
	int fd = mqtt_session(port);
	CU_ASSERT(fd >= 0);
	ASSERT_RC(test_broker_restart(&b), FERRY_OK);
	CU_ASSERT(kill(pid, 0) != 0);
	CU_ASSERT_EQUAL(test_broker_port(&b), port);
	if (fd >= 0) {
		uint8_t c;
		CU_ASSERT(recv(fd, &c, 1, 0) <= 0); /* the old connection is gone */
		close(fd);
	}
	fd = mqtt_session(port);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	test_broker_cleanup(&b);
}

/* Process state letter from /proc/PID/stat ('T' stopped), polled until want or 10 s. */
static bool proc_state_becomes(pid_t pid, char want)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "re");
		char *rp = NULL;
		if (f) {
			if (fgets(line, sizeof line, f))
				rp = strrchr(line, ')');
			fclose(f);
		}
		if (rp && rp[1] == ' ' && rp[2] == want)
			return true;
		struct timespec ts = {0, 5000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}

static void test_pause_resume(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, NULL));
	ASSERT_RC(test_broker_pause(&b), FERRY_OK);
	CU_ASSERT(proc_state_becomes(b.pid, 'T'));
	/* The kernel still accepts; the answer comes once the broker resumes. */
	int fd = raw_connect(test_broker_port(&b));
	CU_ASSERT(fd >= 0);
	CU_ASSERT(fd >= 0 && send_hex(fd, CONNECT_311));
	ASSERT_RC(test_broker_resume(&b), FERRY_OK);
	CU_ASSERT(fd >= 0 && expect_hex(fd, CONNACK_OK));
	if (fd >= 0)
		close(fd);
	/* Stopping a paused broker works too. */
	ASSERT_RC(test_broker_pause(&b), FERRY_OK);
	ASSERT_RC(test_broker_stop(&b), FERRY_OK);
	ASSERT_RC(test_broker_pause(&b), FERRY_ERR_STATE);
	test_broker_cleanup(&b);
}

static void test_users(void)
{
	static const char *const users[] = {"alice:secret", "bob:pa:ss", NULL};
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, &(struct test_broker_opts){.users = users}));
	int port = test_broker_port(&b);
	struct {
		const char *user, *pass;
		int want;
	} cases[] = {
	    {"alice", "secret", 0}, {"alice", "wrong", 5}, {"bob", "pa:ss", 0},
	    {"carol", "secret", 5}, {NULL, NULL, 5}, /* anonymous: refused with users */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int fd = raw_connect(port);
		CU_ASSERT(fd >= 0);
		if (fd < 0)
			continue;
		int got = mqtt_connect(fd, cases[i].user, cases[i].pass);
		if (got != cases[i].want)
			fprintf(stderr, "\n    %s/%s: CONNACK code %d, want %d\n",
			        cases[i].user ? cases[i].user : "(anonymous)",
			        cases[i].pass ? cases[i].pass : "", got, cases[i].want);
		CU_ASSERT_EQUAL(got, cases[i].want);
		close(fd);
	}
	test_broker_cleanup(&b);
}

static void test_users_allow_anonymous(void)
{
	static const char *const users[] = {"alice:secret", NULL};
	struct test_broker b;
	CU_ASSERT_FATAL(
	    start(&b, &(struct test_broker_opts){.users = users, .anonymous = TEST_ANON_ALLOW}));
	int fd = raw_connect(test_broker_port(&b));
	CU_ASSERT(fd >= 0 && mqtt_connect(fd, NULL, NULL) == 0);
	if (fd >= 0)
		close(fd);
	test_broker_cleanup(&b);
}

#define TOPIC "ferry/retained"
/* PUBLISH QoS 1 retained, id 1, payload "hello" */
#define PUBLISH_RETAINED                                                                           \
	"33 17 00 0e 66 65 72 72 79 2f 72 65 74 61 69 6e 65 64 00 01 68 65 6c 6c 6f"
/* SUBSCRIBE id 2 to TOPIC at QoS 1 */
#define SUBSCRIBE_TOPIC "82 13 00 02 00 0e 66 65 72 72 79 2f 72 65 74 61 69 6e 65 64 01"

/* Publishes the retained message and disconnects cleanly. */
static bool publish_retained(int port)
{
	int fd = mqtt_session(port);
	if (fd < 0)
		return false;
	/* The ping round trip after the PUBACK: mosquitto, single-threaded, has
	 * finished with the PUBLISH (autosave included) before it answers. */
	bool ok = send_hex(fd, PUBLISH_RETAINED) && expect_hex(fd, "40 02 00 01") &&
	          send_hex(fd, "c0 00") && expect_hex(fd, "d0 00") && send_hex(fd, "e0 00");
	close(fd);
	return ok;
}

/*
 * Subscribes to TOPIC; returns 1 when the retained message arrives after the
 * SUBACK, 0 when it does not (a PINGREQ sent after the SUBSCRIBE is answered
 * first: mosquitto sends retained messages before it reads the next packet),
 * -1 on anything else.
 */
static int retained_after_subscribe(int port)
{
	int fd = mqtt_session(port);
	if (fd < 0)
		return -1;
	uint8_t buf[512];
	int res = -1;
	if (!send_hex(fd, SUBSCRIBE_TOPIC) || !send_hex(fd, "c0 00") ||
	    !expect_hex(fd, "90 03 00 02 01"))
		goto out;
	size_t n = read_packet(fd, buf, sizeof buf);
	if (n == 2 && buf[0] == 0xd0) {
		res = 0;
		goto out;
	}
	struct ferry_codec_cfg cfg = {.version = 4, .peer = FERRY_PEER_SERVER};
	struct ferry_packet p;
	if (n == 0 || ferry__decode(&cfg, buf, n, &p) || p.type != FERRY_PUBLISH)
		goto out;
	ASSERT_VIEW_STR(p.u.publish.topic, TOPIC);
	ASSERT_VIEW_STR(p.u.publish.payload, "hello");
	CU_ASSERT(p.u.publish.retain);
	CU_ASSERT_EQUAL(p.u.publish.qos, 1);
	res = 1;
out:
	close(fd);
	return res;
}

static void test_persistence(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, &(struct test_broker_opts){.persistence = true}));
	int port = test_broker_port(&b);
	CU_ASSERT(publish_retained(port));
	CU_ASSERT_EQUAL(retained_after_subscribe(port), 1);
	ASSERT_RC(test_broker_restart(&b), FERRY_OK);
	CU_ASSERT_EQUAL(retained_after_subscribe(port), 1);
	test_broker_cleanup(&b);
}

/* The control: without persistence the retained message is lost on restart. */
static void test_no_persistence(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, NULL));
	int port = test_broker_port(&b);
	CU_ASSERT(publish_retained(port));
	CU_ASSERT_EQUAL(retained_after_subscribe(port), 1);
	ASSERT_RC(test_broker_restart(&b), FERRY_OK);
	CU_ASSERT_EQUAL(retained_after_subscribe(port), 0);
	test_broker_cleanup(&b);
}

/* With autosave even a crash (SIGKILL) keeps what was acknowledged. */
static void test_autosave_survives_kill(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(
	    start(&b, &(struct test_broker_opts){.persistence = true, .autosave = true}));
	int port = test_broker_port(&b);
	CU_ASSERT(publish_retained(port));
	ASSERT_RC(test_broker_kill(&b), FERRY_OK);
	ASSERT_RC(test_broker_restart(&b), FERRY_OK);
	CU_ASSERT_EQUAL(retained_after_subscribe(port), 1);
	test_broker_cleanup(&b);
}

static void test_bad_config_fails_at_once(void)
{
	struct test_broker b;
	int rc =
	    test_broker_start(&b, &(struct test_broker_opts){.extra_config = "no_such_option 1"});
	CU_ASSERT(rc != FERRY_OK);
	CU_ASSERT_EQUAL(b.pid, 0);
	CU_ASSERT(has(test_broker_error(&b), "exited at start"));
	test_broker_cleanup(&b);
}

/*
 * Extra files land in the directory and @DIR@ in extra_config names it: an
 * ACL file that lets anonymous clients write but not read ferry/#, so the
 * retained message is stored but never delivered. (Not the other way round:
 * mosquitto 2.0.11 answers a 3.1.1 QoS 1 PUBLISH denied by the ACL with a
 * PUBACK and then drops the connection.)
 */
static void test_files_and_extra_config(void)
{
	static const struct test_broker_file files[] = {
	    {"acl", "topic write ferry/#\n"},
	    {NULL, NULL},
	};
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, &(struct test_broker_opts){
	                              .files = files,
	                              .extra_config = "acl_file @DIR@/acl\n",
	                          }));
	int port = test_broker_port(&b);
	CU_ASSERT(publish_retained(port));
	CU_ASSERT_EQUAL(retained_after_subscribe(port), 0);
	char path[sizeof b.dir + 8];
	snprintf(path, sizeof path, "%s/acl", test_broker_dir(&b));
	CU_ASSERT(access(path, R_OK) == 0);
	test_broker_cleanup(&b);
}

static void test_log_and_dump(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, NULL));
	int fd = mqtt_session(test_broker_port(&b));
	CU_ASSERT(fd >= 0);
	/* mosquitto logs the connection before it sends the CONNACK. */
	CU_ASSERT(test_broker_log_contains(&b, "New client connected"));
	CU_ASSERT(!test_broker_log_contains(&b, "no such text in any log"));
	if (fd >= 0)
		close(fd);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_FATAL(f != NULL);
	test_broker_dump_log(&b, f);
	fclose(f);
	CU_ASSERT(strstr(text, "broker.log") != NULL);
	CU_ASSERT(strstr(text, "mosquitto version 2.0") != NULL);
	free(text);
	test_broker_cleanup(&b);
}

static void test_cleanup_removes_everything(void)
{
	struct test_broker b;
	CU_ASSERT_FATAL(start(&b, &(struct test_broker_opts){.persistence = true}));
	char dir[sizeof b.dir];
	snprintf(dir, sizeof dir, "%s", test_broker_dir(&b));
	pid_t pid = b.pid;
	int port = test_broker_port(&b);
	struct stat st;
	CU_ASSERT(stat(dir, &st) == 0);
	test_broker_cleanup(&b);
	CU_ASSERT(stat(dir, &st) != 0 && errno == ENOENT);
	CU_ASSERT(kill(pid, 0) != 0);
	CU_ASSERT(refuses(port));
	test_broker_cleanup(&b); /* twice is harmless, and so is a never-started broker */
	struct test_broker z = {0};
	test_broker_cleanup(&z);
	ASSERT_RC(test_broker_restart(&z), FERRY_ERR_STATE);
}

static void test_free_port(void)
{
	int port = test_broker_free_port();
	CU_ASSERT(port > 0 && port < 65536);
	CU_ASSERT(refuses(port));
}

/* --- the fake broker --------------------------------------------------------------- */

/* PUBLISH QoS 0 "a/b" "hi" */
#define PUBLISH_QOS0 "30 07 00 03 61 2f 62 68 69"

static struct test_fake *fake(const struct test_fake_step *script, unsigned timeout_ms)
{
	struct test_fake *fb = NULL;
	int rc = test_fake_start(&fb, script, &(struct test_fake_opts){.timeout_ms = timeout_ms});
	ASSERT_RC(rc, FERRY_OK);
	return fb;
}

/* Waits for the script to fail; returns its message (static buffer). */
static const char *fake_failure(struct test_fake *fb, int want_rc)
{
	static char msg[1024];
	int rc = test_fake_wait(fb, 0);
	ASSERT_RC(rc, want_rc);
	test_fake_error(fb, msg, sizeof msg);
	return msg;
}

static bool frame_is(struct test_fake *fb, size_t i, const char *hex)
{
	struct test_fake_frame f;
	uint8_t want[256];
	size_t n = test_hex(hex, want, sizeof want);
	if (test_fake_frame(fb, i, &f) != FERRY_OK)
		return false;
	return f.len == n && memcmp(f.data, want, n) == 0;
}

static void test_fake_script(void)
{
	static const struct test_fake_step script[] = {
	    {.op = FAKE_ACCEPT},
	    {.op = FAKE_EXPECT, .type = FERRY_CONNECT},
	    {.op = FAKE_SEND, .hex = CONNACK_OK},
	    {.op = FAKE_EXPECT_BYTES, .hex = PUBLISH_QOS0},
	    {.op = FAKE_SEND, .hex = "20 7f 00"}, /* CONNACK with a length it never delivers */
	    {.op = FAKE_CLOSE},
	    {.op = FAKE_END},
	};
	struct test_fake *fb = fake(script, 0);
	CU_ASSERT_FATAL(fb != NULL);
	int fd = raw_connect(test_fake_port(fb));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(send_hex(fd, CONNECT_311));
	CU_ASSERT(expect_hex(fd, CONNACK_OK));
	CU_ASSERT(send_hex(fd, PUBLISH_QOS0));
	uint8_t buf[8];
	CU_ASSERT(read_exact(fd, buf, 3) && buf[0] == 0x20 && buf[1] == 0x7f && buf[2] == 0);
	CU_ASSERT(recv(fd, buf, 1, 0) == 0); /* then the fake broker closed */
	close(fd);
	ASSERT_RC(test_fake_wait(fb, 0), FERRY_OK);
	char msg[256];
	CU_ASSERT_STRING_EQUAL(test_fake_error(fb, msg, sizeof msg), "");
	/* The recorded frames are exactly what the client sent. */
	CU_ASSERT_EQUAL(test_fake_frame_count(fb), 2);
	CU_ASSERT(frame_is(fb, 0, CONNECT_311));
	CU_ASSERT(frame_is(fb, 1, PUBLISH_QOS0));
	struct test_fake_frame f;
	ASSERT_RC(test_fake_frame(fb, 1, &f), FERRY_OK);
	CU_ASSERT_EQUAL(f.type, FERRY_PUBLISH);
	CU_ASSERT_EQUAL(f.step, 3);
	CU_ASSERT_EQUAL(f.conn, 0);
	ASSERT_RC(test_fake_frame(fb, 2, &f), FERRY_ERR_INVAL);
	test_fake_destroy(fb);
}

/* Connects and sends hex; returns the socket (the caller closes it). */
static int client_sends(struct test_fake *fb, const char *hex)
{
	int fd = raw_connect(test_fake_port(fb));
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		CU_ASSERT(send_hex(fd, hex));
	return fd;
}

/* One failing step after an ACCEPT: what the client sends, what must be reported. */
struct fail_case {
	struct test_fake_step step;
	uint8_t version;
	const char *client; /* hex the client sends */
	bool then_close;    /* and then closes */
	size_t recorded;    /* frames recorded (a whole frame is, even a wrong one) */
	int rc;             /* test_fake_wait's answer */
	const char *msg;    /* part of test_fake_error's message */
};

static const struct fail_case fail_cases[] = {
    {{.op = FAKE_EXPECT, .type = FERRY_SUBSCRIBE},
     4,
     PUBLISH_QOS0,
     false,
     1,
     FERRY_ERR_PROTOCOL,
     "step 1 (EXPECT SUBSCRIBE): got PUBLISH (30 07 00 03 61 2f 62 68 69)"},
    {{.op = FAKE_EXPECT_BYTES, .hex = "e0 00"},
     4,
     "c0 00",
     false,
     1,
     FERRY_ERR_PROTOCOL,
     "step 1 (EXPECT_BYTES): expected e0 00, got (c0 00)"},
    /* protocol name "MQTX" */
    {{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
     4,
     "10 0c 00 04 4d 51 54 58 04 02 00 3c 00 00",
     false,
     1,
     FERRY_ERR_PROTOCOL_NAME,
     "CONNECT frame does not decode: FERRY_ERR_PROTOCOL_NAME (10 0c 00 04 4d 51 54 58"},
    {{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
     5,
     CONNECT_311,
     false,
     1,
     FERRY_ERR_PROTOCOL,
     "CONNECT has protocol level 4, the script is for 5"},
    /* the step's own bound; the partial frame is shown */
    {{.op = FAKE_EXPECT, .timeout_ms = 100},
     4,
     "10 0c 00",
     false,
     0,
     FERRY_ERR_TIMEOUT,
     "step 1 (EXPECT): no complete frame within 100 ms; got (10 0c 00)"},
    {{.op = FAKE_EXPECT},
     4,
     "30 07 00",
     true,
     0,
     FERRY_ERR_STATE,
     "connection closed by the client; partial frame (30 07 00)"},
    /* automatic PINGRESP is off by default: the PINGREQ is a frame */
    {{.op = FAKE_EXPECT_CLOSE},
     4,
     "c0 00",
     false,
     1,
     FERRY_ERR_PROTOCOL,
     "step 1 (EXPECT_CLOSE): expected the client to close, got PINGREQ (c0 00)"},
};

/* Each kind of failed step makes test_fake_wait fail with a readable message. */
static void test_fake_failures(void)
{
	for (size_t i = 0; i < sizeof fail_cases / sizeof fail_cases[0]; i++) {
		const struct fail_case *c = &fail_cases[i];
		const struct test_fake_step script[] = {
		    {.op = FAKE_ACCEPT}, c->step, {.op = FAKE_END}};
		struct test_fake *fb = NULL;
		int rc =
		    test_fake_start(&fb, script, &(struct test_fake_opts){.version = c->version});
		ASSERT_RC(rc, FERRY_OK);
		if (rc)
			continue;
		int fd = raw_connect(test_fake_port(fb));
		CU_ASSERT(fd >= 0 && send_hex(fd, c->client));
		if (fd >= 0 && c->then_close)
			close(fd);
		CU_ASSERT(has(fake_failure(fb, c->rc), c->msg));
		CU_ASSERT_EQUAL(test_fake_frame_count(fb), c->recorded);
		CU_ASSERT(c->recorded == 0 || frame_is(fb, 0, c->client));
		if (fd >= 0 && !c->then_close)
			close(fd);
		test_fake_destroy(fb);
	}
}

/* Split sends, automatic PINGRESP, EXPECT_CLOSE. */
static void test_fake_split_ping_close(void)
{
	static const struct test_fake_step script[] = {
	    {.op = FAKE_PING_AUTO},
	    {.op = FAKE_ACCEPT},
	    {.op = FAKE_EXPECT, .type = FERRY_CONNECT},
	    {.op = FAKE_SEND_SPLIT, .hex = CONNACK_OK},
	    {.op = FAKE_EXPECT, .type = FERRY_DISCONNECT},
	    {.op = FAKE_EXPECT_CLOSE},
	    {.op = FAKE_END},
	};
	struct test_fake *fb = fake(script, 0);
	CU_ASSERT_FATAL(fb != NULL);
	int fd = client_sends(fb, CONNECT_311);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(expect_hex(fd, CONNACK_OK));
	CU_ASSERT(send_hex(fd, "c0 00"));
	CU_ASSERT(expect_hex(fd, "d0 00"));
	CU_ASSERT(send_hex(fd, "e0 00"));
	close(fd);
	ASSERT_RC(test_fake_wait(fb, 0), FERRY_OK);
	CU_ASSERT_EQUAL(test_fake_pings(fb), 1);
	CU_ASSERT_EQUAL(test_fake_frame_count(fb), 2); /* the PINGREQ is not recorded */
	CU_ASSERT(frame_is(fb, 1, "e0 00"));
	test_fake_destroy(fb);
}

/* Two connections in one script: close, accept again, reset. */
static void test_fake_reconnect(void)
{
	static const struct test_fake_step script[] = {
	    {.op = FAKE_ACCEPT}, {.op = FAKE_EXPECT, .type = FERRY_CONNECT},    {.op = FAKE_CLOSE},
	    {.op = FAKE_ACCEPT}, {.op = FAKE_EXPECT_BYTES, .hex = CONNECT_311}, {.op = FAKE_RESET},
	    {.op = FAKE_END},
	};
	struct test_fake *fb = fake(script, 0);
	CU_ASSERT_FATAL(fb != NULL);
	uint8_t c;
	int fd = client_sends(fb, CONNECT_311);
	CU_ASSERT(fd >= 0 && recv(fd, &c, 1, 0) == 0); /* orderly close */
	close(fd);
	fd = client_sends(fb, CONNECT_311);
	errno = 0;
	CU_ASSERT(fd >= 0 && recv(fd, &c, 1, 0) < 0 && errno == ECONNRESET);
	close(fd);
	ASSERT_RC(test_fake_wait(fb, 0), FERRY_OK);
	CU_ASSERT_EQUAL(test_fake_connections(fb), 2);
	struct test_fake_frame f;
	ASSERT_RC(test_fake_frame(fb, 1, &f), FERRY_OK);
	CU_ASSERT_EQUAL(f.conn, 1);
	test_fake_destroy(fb);
}

/* WAIT_GO and test_fake_wait_step let a test act between script steps. */
static void test_fake_go_and_steps(void)
{
	static const struct test_fake_step script[] = {
	    {.op = FAKE_ACCEPT},
	    {.op = FAKE_WAIT_GO},
	    {.op = FAKE_SEND, .hex = "d0 00"},
	    {.op = FAKE_END},
	};
	struct test_fake *fb = fake(script, 0);
	CU_ASSERT_FATAL(fb != NULL);
	int fd = raw_connect(test_fake_port(fb));
	CU_ASSERT(fd >= 0);
	ASSERT_RC(test_fake_wait_step(fb, 1, 0), FERRY_OK);
	ASSERT_RC(test_fake_wait(fb, 50), FERRY_ERR_TIMEOUT); /* held at WAIT_GO */
	char msg[128];
	CU_ASSERT(has(test_fake_error(fb, msg, sizeof msg), "still running step 1 of 3"));
	test_fake_go(fb);
	CU_ASSERT(fd >= 0 && expect_hex(fd, "d0 00"));
	ASSERT_RC(test_fake_wait(fb, 0), FERRY_OK);
	if (fd >= 0)
		close(fd);
	test_fake_destroy(fb);
}

/* Destroy interrupts a script that waits (here for a client that never comes). */
static void test_fake_destroy_while_waiting(void)
{
	static const struct test_fake_step script[] = {{.op = FAKE_ACCEPT}, {.op = FAKE_END}};
	struct test_fake *fb = fake(script, 0);
	CU_ASSERT_FATAL(fb != NULL);
	int port = test_fake_port(fb);
	ASSERT_RC(test_fake_wait_step(fb, 0, 0), FERRY_OK);
	test_fake_destroy(fb);
	CU_ASSERT(refuses(port)); /* the listening socket is closed */
}

static void test_fake_bad_script(void)
{
	static const struct test_fake_step bad_hex[] = {{.op = FAKE_SEND, .hex = "20 0"},
	                                                {.op = FAKE_END}};
	static const struct test_fake_step text[] = {{.op = FAKE_SEND, .hex = "00 04 'MQTT'"},
	                                             {.op = FAKE_END}};
	struct test_fake *fb = (struct test_fake *)1;
	ASSERT_RC(test_fake_start(&fb, bad_hex, NULL), FERRY_ERR_INVAL);
	CU_ASSERT_PTR_NULL(fb);
	ASSERT_RC(test_fake_start(&fb, text, &(struct test_fake_opts){.version = 6}),
	          FERRY_ERR_INVAL);
	/* The quoted text form is accepted; with no connection, SEND fails readably. */
	ASSERT_RC(test_fake_start(&fb, text, NULL), FERRY_OK);
	const char *msg = fake_failure(fb, FERRY_ERR_STATE);
	CU_ASSERT(has(msg, "step 0 (SEND): no connection"));
	test_fake_destroy(fb);
}

void register_support_suite(void)
{
	CU_pSuite s = test_suite("support");
	test_add(s, "broker: CONNECT gets CONNACK", test_connect_connack);
	test_add(s, "broker: stop ends the process and closes the port", test_stop);
	test_add(s, "broker: kill, then restart on the same port", test_kill_and_restart);
	test_add(s, "broker: restart while running", test_restart_running);
	test_add(s, "broker: pause and resume", test_pause_resume);
	test_add(s, "broker: users and passwords (bad password: code 5)", test_users);
	test_add(s, "broker: users with anonymous allowed", test_users_allow_anonymous);
	test_add(s, "broker: persistence keeps a retained message", test_persistence);
	test_add(s, "broker: without persistence it is lost", test_no_persistence);
	test_add(s, "broker: autosave survives SIGKILL", test_autosave_survives_kill);
	test_add(s, "broker: a bad config fails at start", test_bad_config_fails_at_once);
	test_add(s, "broker: extra files and config (ACL)", test_files_and_extra_config);
	test_add(s, "broker: log and dump", test_log_and_dump);
	test_add(s, "broker: cleanup removes everything", test_cleanup_removes_everything);
	test_add(s, "broker: free port", test_free_port);
	test_add(s, "fake: script, exact frames recorded", test_fake_script);
	test_add(s, "fake: failed steps are reported readably", test_fake_failures);
	test_add(s, "fake: split send, auto PINGRESP, expect close", test_fake_split_ping_close);
	test_add(s, "fake: close, accept again, reset", test_fake_reconnect);
	test_add(s, "fake: go and wait_step", test_fake_go_and_steps);
	test_add(s, "fake: destroy interrupts a wait", test_fake_destroy_while_waiting);
	test_add(s, "fake: bad scripts are refused", test_fake_bad_script);
}
