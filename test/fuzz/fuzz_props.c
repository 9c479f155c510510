/*
 * fuzz_props.c - MQTT 5 property blocks.
 *
 * Input: the first byte chooses the context (mod 16: FERRY_PCTX_WILL or a
 * packet type), the rest is a property block (property length first).
 * A block that decodes must: fail only with a documented error otherwise;
 * iterate to exactly the counts the decoder reported; encode again in the
 * same context; decode from that encoding to the same properties; and
 * encode a second time to the same bytes (the encoding is canonical).
 * Any disagreement is a bug: abort().
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "props.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static bool documented_error(int rc)
{
	switch (rc) {
	case FERRY_ERR_PROPERTY_LENGTH:
	case FERRY_ERR_PROPERTY_UNKNOWN:
	case FERRY_ERR_PROPERTY_NOT_ALLOWED:
	case FERRY_ERR_PROPERTY_DUPLICATE:
	case FERRY_ERR_PROPERTY_VALUE:
	case FERRY_ERR_VARINT:
	case FERRY_ERR_VARINT_NON_MINIMAL:
	case FERRY_ERR_UTF8:
	case FERRY_ERR_UTF8_NUL:
	case FERRY_ERR_TOPIC_NAME:
		return true;
	default:
		return false;
	}
}

static bool same_bytes(struct ferry_bytes a, struct ferry_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* Every single-valued field, User Properties by content, sub ids by count. */
static void compare(const struct ferry_props *a, const struct ferry_props *b)
{
	CHECK(a->present == b->present);
	CHECK(a->payload_format == b->payload_format);
	CHECK(a->request_problem_info == b->request_problem_info);
	CHECK(a->request_response_info == b->request_response_info);
	CHECK(a->maximum_qos == b->maximum_qos);
	CHECK(a->retain_available == b->retain_available);
	CHECK(a->wildcard_sub_available == b->wildcard_sub_available);
	CHECK(a->sub_id_available == b->sub_id_available);
	CHECK(a->shared_sub_available == b->shared_sub_available);
	CHECK(a->server_keepalive == b->server_keepalive);
	CHECK(a->receive_maximum == b->receive_maximum);
	CHECK(a->topic_alias_maximum == b->topic_alias_maximum);
	CHECK(a->topic_alias == b->topic_alias);
	CHECK(a->message_expiry == b->message_expiry);
	CHECK(a->session_expiry == b->session_expiry);
	CHECK(a->will_delay == b->will_delay);
	CHECK(a->maximum_packet_size == b->maximum_packet_size);
	CHECK(a->sub_id == b->sub_id);
	CHECK(same_bytes(a->content_type, b->content_type));
	CHECK(same_bytes(a->response_topic, b->response_topic));
	CHECK(same_bytes(a->correlation_data, b->correlation_data));
	CHECK(same_bytes(a->assigned_client_id, b->assigned_client_id));
	CHECK(same_bytes(a->auth_method, b->auth_method));
	CHECK(same_bytes(a->auth_data, b->auth_data));
	CHECK(same_bytes(a->response_info, b->response_info));
	CHECK(same_bytes(a->server_reference, b->server_reference));
	CHECK(same_bytes(a->reason_string, b->reason_string));
	CHECK(a->user_count == b->user_count);
	/* Encoding carries one Subscription Identifier: the first. */
	CHECK(b->sub_id_count == (a->sub_id_count > 0 ? 1u : 0u));

	struct ferry_prop_iter ia, ib;
	struct ferry_user_prop ua, ub;
	ferry__props_iter_init(&ia, a);
	ferry__props_iter_init(&ib, b);
	for (;;) {
		bool ga = ferry__props_next_user(&ia, &ua);
		bool gb = ferry__props_next_user(&ib, &ub);
		CHECK(ga == gb);
		if (!ga)
			break;
		CHECK(same_bytes(ua.name, ub.name) && same_bytes(ua.value, ub.value));
	}
}

/* Iterates the repeatable properties; returns the User Properties as an array (or NULL). */
static struct ferry_user_prop *collect(const struct ferry_props *p)
{
	struct ferry_prop_iter it;
	uint32_t id, first = 0;
	size_t n = 0;
	ferry__props_iter_init(&it, p);
	while (ferry__props_next_sub_id(&it, &id)) {
		CHECK(id >= 1 && id <= FERRY_VARINT_MAX);
		if (n++ == 0)
			first = id;
	}
	CHECK(n == p->sub_id_count);
	CHECK(n == 0 || first == p->sub_id);
	CHECK((n > 0) == ((p->present & FERRY_PROP_BIT(FERRY_PROP_SUBSCRIPTION_ID)) != 0));

	struct ferry_user_prop *users = NULL;
	if (p->user_count) {
		users = malloc(p->user_count * sizeof *users);
		CHECK(users != NULL);
	}
	n = 0;
	struct ferry_user_prop up;
	ferry__props_iter_init(&it, p);
	while (ferry__props_next_user(&it, &up)) {
		CHECK(n < p->user_count);
		users[n++] = up;
	}
	CHECK(n == p->user_count);
	CHECK((n > 0) == ((p->present & FERRY_PROP_BIT(FERRY_PROP_USER)) != 0));
	return users;
}

/* Encodes p in ctx into a new buffer of exactly the announced size. */
static uint8_t *encode(const struct ferry_props *p, int ctx, size_t *len)
{
	CHECK(ferry__props_size(p, ctx, len) == FERRY_OK);
	uint8_t *buf = malloc(*len);
	CHECK(buf != NULL);
	struct ferry_writer w;
	ferry__wr_init(&w, buf, *len);
	CHECK(ferry__props_encode(p, ctx, &w) == FERRY_OK);
	CHECK(w.p == buf + *len);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int ctx = data[0] % 16;
	struct ferry_cursor c;
	struct ferry_props a, b, again;
	ferry__cur_init(&c, data + 1, size - 1);
	int rc = ferry__props_decode(&c, ctx, &a);
	if (rc) {
		CHECK(documented_error(rc));
		CHECK(c.p == data + 1);
		return 0;
	}
	CHECK(c.p == a.raw.p + a.raw.len);

	struct ferry_user_prop *users = collect(&a);
	a.user = users;
	size_t len1, len2;
	uint8_t *enc1 = encode(&a, ctx, &len1);
	ferry__cur_init(&c, enc1, len1);
	CHECK(ferry__props_decode(&c, ctx, &b) == FERRY_OK);
	CHECK(ferry__cur_left(&c) == 0);
	compare(&a, &b);

	struct ferry_user_prop *users2 = collect(&b);
	b.user = users2;
	uint8_t *enc2 = encode(&b, ctx, &len2);
	CHECK(len1 == len2 && memcmp(enc1, enc2, len1) == 0);
	ferry__cur_init(&c, enc2, len2);
	CHECK(ferry__props_decode(&c, ctx, &again) == FERRY_OK);

	free(enc2);
	free(users2);
	free(enc1);
	free(users);
	return 0;
}
