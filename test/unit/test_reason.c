/*
 * test_reason.c - reason codes: the MQTT 5 codes each packet may carry,
 * written out from the per-packet lists of MQTT 5.0 chapter 3 (3.2.2.2,
 * 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1, 3.15.2.1) as a
 * cross-check of table 2-6; the 3.1/3.1.1 CONNACK and SUBACK return codes;
 * the names.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "reason.h"
#include "suites.h"
#include "util.h"

struct packet_codes {
	int ptype;
	const char *codes; /* hex */
};

static const struct packet_codes v5[] = {
    {FERRY_CONNACK, "00 80 81 82 83 84 85 86 87 88 89 8a 8c 90 95 97 99 9a 9b 9c 9d 9f"},
    {FERRY_PUBACK, "00 10 80 83 87 90 91 97 99"},
    {FERRY_PUBREC, "00 10 80 83 87 90 91 97 99"},
    {FERRY_PUBREL, "00 92"},
    {FERRY_PUBCOMP, "00 92"},
    {FERRY_SUBACK, "00 01 02 80 83 87 8f 91 97 9e a1 a2"},
    {FERRY_UNSUBACK, "00 11 80 83 87 8f 91"},
    {FERRY_DISCONNECT, "00 04 80 81 82 83 87 89 8b 8c 8d 8e 8f 90 93 94 95 96 97 98 99 9a 9b"
                       "9c 9d 9e 9f a0 a1 a2"},
    {FERRY_AUTH, "00 18 19"},
    /* Packets without a reason code. */
    {FERRY_CONNECT, ""},
    {FERRY_PUBLISH, ""},
    {FERRY_SUBSCRIBE, ""},
    {FERRY_UNSUBSCRIBE, ""},
    {FERRY_PINGREQ, ""},
    {FERRY_PINGRESP, ""},
};

/* Is code listed for ptype in `table`? */
static bool listed(const struct packet_codes *table, size_t n, int ptype, unsigned code)
{
	for (size_t i = 0; i < n; i++) {
		if (table[i].ptype != ptype)
			continue;
		uint8_t codes[64];
		size_t k = test_hex(table[i].codes, codes, sizeof codes);
		for (size_t j = 0; j < k; j++)
			if (codes[j] == code)
				return true;
	}
	return false;
}

static void check_all(uint8_t version, const struct packet_codes *table, size_t n)
{
	for (int ptype = 0; ptype <= 16; ptype++) {
		for (unsigned code = 0; code < 256; code++) {
			bool want = listed(table, n, ptype, code);
			bool got = ferry__reason_valid(version, ptype, (uint8_t)code);
			if (got != want) {
				char msg[128];
				snprintf(msg, sizeof msg,
				         "v%u packet %d code 0x%02x: valid=%d, want %d", version,
				         ptype, code, got, want);
				CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "",
				                        CU_FALSE);
			}
			const char *name = ferry__reason_name(version, ptype, (uint8_t)code);
			CU_ASSERT_PTR_NOT_NULL_FATAL(name);
			/* Every valid code has a real name. */
			if (want)
				CU_ASSERT(strcmp(name, "Unknown reason code") != 0);
		}
	}
}

static void test_v5_valid(void)
{
	check_all(5, v5, sizeof v5 / sizeof v5[0]);
}

static void test_v3_valid(void)
{
	static const struct packet_codes v311[] = {
	    {FERRY_CONNACK, "00 01 02 03 04 05"},
	    {FERRY_SUBACK, "00 01 02 80"},
	};
	static const struct packet_codes v31[] = {
	    {FERRY_CONNACK, "00 01 02 03 04 05"},
	    {FERRY_SUBACK, "00 01 02"}, /* 0x80 came with 3.1.1 */
	};
	check_all(4, v311, 2);
	check_all(3, v31, 2);
}

static void test_bad_version(void)
{
	CU_ASSERT_FALSE(ferry__reason_valid(0, FERRY_CONNACK, 0));
	CU_ASSERT_FALSE(ferry__reason_valid(2, FERRY_CONNACK, 0));
	CU_ASSERT_FALSE(ferry__reason_valid(6, FERRY_PUBACK, 0));
	CU_ASSERT_FALSE(ferry__reason_valid(5, -1, 0));
	CU_ASSERT_FALSE(ferry__reason_valid(5, 99, 0));
}

static void test_v5_names(void)
{
	static const struct {
		int ptype;
		uint8_t code;
		const char *name;
	} cases[] = {
	    {FERRY_CONNACK, 0x00, "Success"},
	    {FERRY_PUBACK, 0x00, "Success"},
	    {FERRY_AUTH, 0x00, "Success"},
	    {FERRY_DISCONNECT, 0x00, "Normal disconnection"},
	    {FERRY_SUBACK, 0x00, "Granted QoS 0"},
	    {FERRY_SUBACK, 0x01, "Granted QoS 1"},
	    {FERRY_SUBACK, 0x02, "Granted QoS 2"},
	    {FERRY_DISCONNECT, 0x04, "Disconnect with Will Message"},
	    {FERRY_PUBACK, 0x10, "No matching subscribers"},
	    {FERRY_UNSUBACK, 0x11, "No subscription existed"},
	    {FERRY_AUTH, 0x18, "Continue authentication"},
	    {FERRY_AUTH, 0x19, "Re-authenticate"},
	    {FERRY_CONNACK, 0x80, "Unspecified error"},
	    {FERRY_CONNACK, 0x84, "Unsupported Protocol Version"},
	    {FERRY_CONNACK, 0x86, "Bad User Name or Password"},
	    {FERRY_PUBACK, 0x87, "Not authorized"},
	    {FERRY_CONNACK, 0x8A, "Banned"},
	    {FERRY_DISCONNECT, 0x8E, "Session taken over"},
	    {FERRY_PUBREL, 0x92, "Packet Identifier not found"},
	    {FERRY_DISCONNECT, 0x94, "Topic Alias invalid"},
	    {FERRY_CONNACK, 0x9C, "Use another server"},
	    {FERRY_SUBACK, 0xA2, "Wildcard Subscriptions not supported"},
	    {FERRY_PUBACK, 0x03, "Unknown reason code"},
	    {FERRY_PUBACK, 0xFF, "Unknown reason code"},
	    {FERRY_PUBACK, 0xA3, "Unknown reason code"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CU_ASSERT_STRING_EQUAL(ferry__reason_name(5, cases[i].ptype, cases[i].code),
		                       cases[i].name);
}

static void test_v5_names_distinct(void)
{
	/* Logs must tell codes apart: no two codes share a name (in DISCONNECT and SUBACK). */
	int ptypes[] = {FERRY_DISCONNECT, FERRY_SUBACK};
	for (size_t t = 0; t < 2; t++) {
		for (unsigned a = 0; a < 256; a++) {
			const char *na = ferry__reason_name(5, ptypes[t], (uint8_t)a);
			if (!strcmp(na, "Unknown reason code"))
				continue;
			for (unsigned b = a + 1; b < 256; b++)
				CU_ASSERT(
				    strcmp(na, ferry__reason_name(5, ptypes[t], (uint8_t)b)) != 0);
		}
	}
}

static void test_v3_names(void)
{
	CU_ASSERT_STRING_EQUAL(ferry__reason_name(4, FERRY_CONNACK, 0), "Connection Accepted");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(ferry__reason_name(4, FERRY_CONNACK, 1), "unacceptable protocol version"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(ferry__reason_name(4, FERRY_CONNACK, 2), "identifier rejected"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ferry__reason_name(3, FERRY_CONNACK, 3), "unavailable"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(ferry__reason_name(4, FERRY_CONNACK, 4), "bad user name or password"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ferry__reason_name(4, FERRY_CONNACK, 5), "not authorized"));
	CU_ASSERT_STRING_EQUAL(ferry__reason_name(4, FERRY_CONNACK, 6), "Unknown reason code");
	/* 0x86 is an MQTT 5 code; a 3.1.1 CONNACK has no such return code. */
	CU_ASSERT_STRING_EQUAL(ferry__reason_name(4, FERRY_CONNACK, 0x86), "Unknown reason code");
	CU_ASSERT_STRING_EQUAL(ferry__reason_name(4, FERRY_SUBACK, 1), "Granted QoS 1");
	CU_ASSERT_STRING_EQUAL(ferry__reason_name(4, FERRY_SUBACK, 0x80), "Failure");
	CU_ASSERT_STRING_EQUAL(ferry__reason_name(3, FERRY_SUBACK, 0x80), "Unknown reason code");
	CU_ASSERT_STRING_EQUAL(ferry__reason_name(4, FERRY_PUBACK, 0x10), "Unknown reason code");
}

void register_reason_suite(void)
{
	CU_pSuite s = test_suite("reason");
	test_add(s, "MQTT 5 codes per packet", test_v5_valid);
	test_add(s, "3.1 / 3.1.1 return codes", test_v3_valid);
	test_add(s, "unknown version or packet", test_bad_version);
	test_add(s, "MQTT 5 names", test_v5_names);
	test_add(s, "MQTT 5 names distinct", test_v5_names_distinct);
	test_add(s, "3.x names", test_v3_names);
}
