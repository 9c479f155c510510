/*
 * props_api.c - public MQTT 5 properties <-> the codec's (see props_api.h).
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "props_api.h"

#define BIT FERRY_PROP_BIT

/* Public numeric flags and the property each stands for. */
static const struct {
	unsigned flag;
	uint8_t id;
	bool sendable; /* an application may set it */
} flag_map[] = {
	{FERRY_PF_PAYLOAD_FORMAT, FERRY_PROP_PAYLOAD_FORMAT, true},
	{FERRY_PF_MESSAGE_EXPIRY, FERRY_PROP_MESSAGE_EXPIRY, true},
	{FERRY_PF_SESSION_EXPIRY, FERRY_PROP_SESSION_EXPIRY, true},
	{FERRY_PF_WILL_DELAY, FERRY_PROP_WILL_DELAY, true},
	{FERRY_PF_RECEIVE_MAXIMUM, FERRY_PROP_RECEIVE_MAXIMUM, true},
	{FERRY_PF_MAXIMUM_PACKET_SIZE, FERRY_PROP_MAXIMUM_PACKET_SIZE, true},
	{FERRY_PF_TOPIC_ALIAS_MAXIMUM, FERRY_PROP_TOPIC_ALIAS_MAXIMUM, true},
	{FERRY_PF_REQUEST_RESPONSE_INFO, FERRY_PROP_REQUEST_RESPONSE_INFO, true},
	{FERRY_PF_REQUEST_PROBLEM_INFO, FERRY_PROP_REQUEST_PROBLEM_INFO, true},
	{FERRY_PF_SUBSCRIPTION_ID, FERRY_PROP_SUBSCRIPTION_ID, true},
	{FERRY_PF_SERVER_KEEPALIVE, FERRY_PROP_SERVER_KEEPALIVE, false},
	{FERRY_PF_MAXIMUM_QOS, FERRY_PROP_MAXIMUM_QOS, false},
	{FERRY_PF_RETAIN_AVAILABLE, FERRY_PROP_RETAIN_AVAILABLE, false},
	{FERRY_PF_WILDCARD_SUB_AVAILABLE, FERRY_PROP_WILDCARD_SUB_AVAILABLE, false},
	{FERRY_PF_SUB_ID_AVAILABLE, FERRY_PROP_SUB_ID_AVAILABLE, false},
	{FERRY_PF_SHARED_SUB_AVAILABLE, FERRY_PROP_SHARED_SUB_AVAILABLE, false},
	{FERRY_PF_TOPIC_ALIAS, FERRY_PROP_TOPIC_ALIAS, false},
};

static size_t align_up(size_t n)
{
	size_t a = alignof(max_align_t);
	return (n + a - 1) / a * a;
}

/* ---- importing what the application sends ------------------------------- */

/* Room for a string or binary value copied by import (0 when absent). */
static size_t str_room(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* A bump allocator over one block. */
struct arena {
	uint8_t *p;
	size_t used;
};

static struct ferry_bytes put_bytes(struct arena *a, const void *src, size_t len)
{
	struct ferry_bytes b = {a->p + a->used, len};
	if (len)
		memcpy(a->p + a->used, src, len);
	a->used += len;
	return b;
}

/* Copies len bytes and a NUL (views may be handed out as C strings); returns the copy. */
static const char *put_nul(struct arena *a, const void *src, size_t len)
{
	const char *d = (const char *)put_bytes(a, src, len).p;
	a->p[a->used++] = 0;
	return d;
}

static struct ferry_bytes put_str(struct arena *a, const char *s)
{
	size_t len = strlen(s);
	return (struct ferry_bytes){(const uint8_t *)put_nul(a, s, len), len};
}

int ferry__props_import(const struct ferry_properties *in, int ctx, struct ferry_props *out,
                        void **mem)
{
	memset(out, 0, sizeof *out);
	*mem = NULL;
	if (!in)
		return FERRY_OK;
	if (in->user_count && !in->user)
		return FERRY_ERR_INVAL;
	if ((in->correlation_len && !in->correlation_data) || (in->auth_data_len && !in->auth_data))
		return FERRY_ERR_INVAL;
	size_t room = in->user_count * sizeof(struct ferry_user_prop);
	for (size_t i = 0; i < in->user_count; i++) {
		if (!in->user[i].name || !in->user[i].value)
			return FERRY_ERR_INVAL;
		room += strlen(in->user[i].name) + strlen(in->user[i].value) + 2;
	}
	room += str_room(in->content_type) + str_room(in->response_topic) +
	        str_room(in->reason_string) + str_room(in->auth_method) +
	        (in->correlation_data ? in->correlation_len : 0) +
	        (in->auth_data ? in->auth_data_len : 0);

	for (size_t i = 0; i < sizeof flag_map / sizeof flag_map[0]; i++)
		if ((in->flags & flag_map[i].flag) && flag_map[i].sendable)
			out->present |= BIT(flag_map[i].id);
	/* What a client may not send where the codec (which serves servers
	 * too) would let it: Subscription Identifier outside SUBSCRIBE. */
	if ((out->present & BIT(FERRY_PROP_SUBSCRIPTION_ID)) && ctx != FERRY_SUBSCRIBE) {
		out->present = 0;
		return FERRY_ERR_PROPERTY_NOT_ALLOWED;
	}
	out->payload_format = in->payload_format;
	out->message_expiry = in->message_expiry;
	out->session_expiry = in->session_expiry;
	out->will_delay = in->will_delay;
	out->receive_maximum = in->receive_maximum;
	out->maximum_packet_size = in->maximum_packet_size;
	out->topic_alias_maximum = in->topic_alias_maximum;
	out->request_response_info = in->request_response_info;
	out->request_problem_info = in->request_problem_info;
	out->sub_id = in->subscription_id;

	if (room) {
		*mem = malloc(room);
		if (!*mem)
			return FERRY_ERR_NOMEM;
	}
	struct arena a = {*mem, 0};
	if (in->user_count) {
		struct ferry_user_prop *u = *mem;
		a.used = in->user_count * sizeof *u;
		for (size_t i = 0; i < in->user_count; i++) {
			u[i].name = put_str(&a, in->user[i].name);
			u[i].value = put_str(&a, in->user[i].value);
		}
		out->user = u;
		out->user_count = in->user_count;
	}
	const struct {
		const char *src;
		int id;
		struct ferry_bytes *dst;
	} strs[] = {
		{in->content_type, FERRY_PROP_CONTENT_TYPE, &out->content_type},
		{in->response_topic, FERRY_PROP_RESPONSE_TOPIC, &out->response_topic},
		{in->reason_string, FERRY_PROP_REASON_STRING, &out->reason_string},
		{in->auth_method, FERRY_PROP_AUTH_METHOD, &out->auth_method},
	};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		if (strs[i].src) {
			out->present |= BIT(strs[i].id);
			*strs[i].dst = put_str(&a, strs[i].src);
		}
	}
	if (in->correlation_data) {
		out->present |= BIT(FERRY_PROP_CORRELATION_DATA);
		out->correlation_data = put_bytes(&a, in->correlation_data, in->correlation_len);
	}
	if (in->auth_data) {
		out->present |= BIT(FERRY_PROP_AUTH_DATA);
		out->auth_data = put_bytes(&a, in->auth_data, in->auth_data_len);
	}
	size_t size;
	int rc = ferry__props_size(out, ctx, &size);
	if (rc) {
		free(*mem);
		*mem = NULL;
		memset(out, 0, sizeof *out);
	}
	return rc;
}

/* ---- copying internal properties ------------------------------------------ */

/* The string and binary fields of struct ferry_props, by property. */
static struct ferry_bytes *bytes_field(struct ferry_props *p, int id)
{
	switch (id) {
	case FERRY_PROP_CONTENT_TYPE: return &p->content_type;
	case FERRY_PROP_RESPONSE_TOPIC: return &p->response_topic;
	case FERRY_PROP_CORRELATION_DATA: return &p->correlation_data;
	case FERRY_PROP_ASSIGNED_CLIENT_ID: return &p->assigned_client_id;
	case FERRY_PROP_AUTH_METHOD: return &p->auth_method;
	case FERRY_PROP_AUTH_DATA: return &p->auth_data;
	case FERRY_PROP_RESPONSE_INFO: return &p->response_info;
	case FERRY_PROP_SERVER_REFERENCE: return &p->server_reference;
	case FERRY_PROP_REASON_STRING: return &p->reason_string;
	default: return NULL;
	}
}

static const int bytes_ids[] = {
	FERRY_PROP_CONTENT_TYPE,   FERRY_PROP_RESPONSE_TOPIC, FERRY_PROP_CORRELATION_DATA,
	FERRY_PROP_ASSIGNED_CLIENT_ID, FERRY_PROP_AUTH_METHOD, FERRY_PROP_AUTH_DATA,
	FERRY_PROP_RESPONSE_INFO,  FERRY_PROP_SERVER_REFERENCE, FERRY_PROP_REASON_STRING,
};
#define NBYTES (sizeof bytes_ids / sizeof bytes_ids[0])

/* Calls fn for each user property of p, built (user array) or decoded (raw). */
static void each_user(const struct ferry_props *p,
                      void (*fn)(void *arg, const struct ferry_user_prop *u), void *arg)
{
	if (p->user) {
		for (size_t i = 0; i < p->user_count; i++)
			fn(arg, &p->user[i]);
		return;
	}
	if (!p->user_count)
		return;
	struct ferry_prop_iter it;
	struct ferry_user_prop u;
	ferry__props_iter_init(&it, p);
	while (ferry__props_next_user(&it, &u))
		fn(arg, &u);
}

static void add_user_room(void *arg, const struct ferry_user_prop *u)
{
	*(size_t *)arg += u->name.len + u->value.len + 2;
}

struct clone_state {
	struct arena a;
	struct ferry_user_prop *u;
	size_t n;
};

static void clone_user(void *arg, const struct ferry_user_prop *u)
{
	struct clone_state *s = arg;
	s->u[s->n].name = put_bytes(&s->a, u->name.p, u->name.len);
	s->a.p[s->a.used++] = 0;
	s->u[s->n].value = put_bytes(&s->a, u->value.p, u->value.len);
	s->a.p[s->a.used++] = 0;
	s->n++;
}

int ferry__props_clone(const struct ferry_props *in, struct ferry_props *out, void **mem)
{
	*out = *in;
	*mem = NULL;
	out->raw.p = NULL;
	out->raw.len = 0;
	/* A decoded block's raw bytes are kept too: every Subscription
	 * Identifier is read from them (the struct holds only the first). */
	size_t raw = in->sub_id_count > 1 && in->raw.p ? in->raw.len : 0;
	size_t room = in->user_count * sizeof(struct ferry_user_prop) + raw;
	each_user(in, add_user_room, &room);
	for (size_t i = 0; i < NBYTES; i++)
		if (in->present & BIT(bytes_ids[i]))
			room += bytes_field(out, bytes_ids[i])->len + 1;
	if (!room)
		return FERRY_OK;
	*mem = malloc(room);
	if (!*mem)
		return FERRY_ERR_NOMEM;
	struct clone_state s = {{*mem, in->user_count * sizeof(struct ferry_user_prop)}, *mem, 0};
	each_user(in, clone_user, &s);
	out->user = in->user_count ? s.u : NULL;
	out->user_count = s.n;
	for (size_t i = 0; i < NBYTES; i++) {
		if (!(in->present & BIT(bytes_ids[i])))
			continue;
		struct ferry_bytes *b = bytes_field(out, bytes_ids[i]);
		*b = put_bytes(&s.a, b->p, b->len);
		s.a.p[s.a.used++] = 0;
	}
	if (raw)
		out->raw = put_bytes(&s.a, in->raw.p, raw);
	return FERRY_OK;
}

bool ferry__props_any(const struct ferry_props *in)
{
	return in->present || in->user_count || in->sub_id_count;
}

/* ---- the public view of received properties -------------------------------- */

size_t ferry__props_view_size(const struct ferry_props *in)
{
	size_t n = align_up(in->user_count * sizeof(struct ferry_user_property)) +
	           align_up(in->sub_id_count * sizeof(uint32_t));
	each_user(in, add_user_room, &n);
	struct ferry_props tmp = *in;
	for (size_t i = 0; i < NBYTES; i++)
		if (in->present & BIT(bytes_ids[i]))
			n += bytes_field(&tmp, bytes_ids[i])->len + 1;
	return n;
}

struct view_state {
	struct arena a;
	struct ferry_user_property *u;
	size_t n;
};

static void view_user(void *arg, const struct ferry_user_prop *u)
{
	struct view_state *s = arg;
	s->u[s->n].name = put_nul(&s->a, u->name.p, u->name.len);
	s->u[s->n].value = put_nul(&s->a, u->value.p, u->value.len);
	s->n++;
}

void ferry__props_view(const struct ferry_props *in, void *mem, struct ferry_properties *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < sizeof flag_map / sizeof flag_map[0]; i++)
		if (in->present & BIT(flag_map[i].id))
			out->flags |= flag_map[i].flag;
	out->payload_format = in->payload_format;
	out->message_expiry = in->message_expiry;
	out->session_expiry = in->session_expiry;
	out->will_delay = in->will_delay;
	out->receive_maximum = in->receive_maximum;
	out->maximum_packet_size = in->maximum_packet_size;
	out->topic_alias_maximum = in->topic_alias_maximum;
	out->request_response_info = in->request_response_info;
	out->request_problem_info = in->request_problem_info;
	out->subscription_id = in->sub_id;
	out->server_keepalive = in->server_keepalive;
	out->topic_alias = in->topic_alias;
	out->maximum_qos = in->maximum_qos;
	out->retain_available = in->retain_available;
	out->wildcard_sub_available = in->wildcard_sub_available;
	out->sub_id_available = in->sub_id_available;
	out->shared_sub_available = in->shared_sub_available;

	size_t users = align_up(in->user_count * sizeof(struct ferry_user_property));
	size_t ids = align_up(in->sub_id_count * sizeof(uint32_t));
	struct view_state s = {{mem, users + ids}, mem, 0};
	if (in->user_count) {
		each_user(in, view_user, &s);
		out->user = s.u;
		out->user_count = s.n;
	}
	if (in->sub_id_count) {
		uint32_t *v = (uint32_t *)((uint8_t *)mem + users);
		size_t n = 0;
		if (in->raw.p) {
			struct ferry_prop_iter it;
			ferry__props_iter_init(&it, in);
			while (n < in->sub_id_count && ferry__props_next_sub_id(&it, &v[n]))
				n++;
		} else {
			v[n++] = in->sub_id;
		}
		out->subscription_ids = v;
		out->subscription_id_count = n;
	}
	struct ferry_props tmp = *in;
	const char **strs[] = {&out->content_type, &out->response_topic, NULL,
	                       &out->assigned_client_id, &out->auth_method, NULL,
	                       &out->response_info, &out->server_reference, &out->reason_string};
	for (size_t i = 0; i < NBYTES; i++) {
		if (!(in->present & BIT(bytes_ids[i])))
			continue;
		const char *s2 = put_nul(&s.a, bytes_field(&tmp, bytes_ids[i])->p, bytes_field(&tmp, bytes_ids[i])->len);
		if (strs[i])
			*strs[i] = s2;
		else if (bytes_ids[i] == FERRY_PROP_CORRELATION_DATA) {
			out->correlation_data = s2;
			out->correlation_len = tmp.correlation_data.len;
		} else {
			out->auth_data = s2;
			out->auth_data_len = tmp.auth_data.len;
		}
	}
}

/* ---- copying a public struct ------------------------------------------------ */

size_t ferry__api_props_size(const struct ferry_properties *in)
{
	size_t n = align_up(in->user_count * sizeof(struct ferry_user_property)) +
	           align_up(in->subscription_id_count * sizeof(uint32_t));
	for (size_t i = 0; i < in->user_count; i++)
		n += strlen(in->user[i].name) + strlen(in->user[i].value) + 2;
	const char *strs[] = {in->content_type, in->response_topic, in->reason_string,
	                      in->auth_method, in->assigned_client_id, in->response_info,
	                      in->server_reference};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		n += str_room(strs[i]);
	n += (in->correlation_data ? in->correlation_len + 1 : 0) +
	     (in->auth_data ? in->auth_data_len + 1 : 0);
	return n;
}

static const char *copy_str(struct arena *a, const char *s)
{
	return s ? put_nul(a, s, strlen(s)) : NULL;
}

static const void *copy_bin(struct arena *a, const void *p, size_t len)
{
	return p ? put_nul(a, p, len) : NULL;
}

void ferry__api_props_copy(const struct ferry_properties *in, void *mem,
                           struct ferry_properties *out)
{
	*out = *in;
	size_t users = align_up(in->user_count * sizeof(struct ferry_user_property));
	size_t ids = align_up(in->subscription_id_count * sizeof(uint32_t));
	struct arena a = {mem, users + ids};
	if (in->user_count) {
		struct ferry_user_property *u = mem;
		for (size_t i = 0; i < in->user_count; i++) {
			u[i].name = copy_str(&a, in->user[i].name);
			u[i].value = copy_str(&a, in->user[i].value);
		}
		out->user = u;
	}
	if (in->subscription_id_count) {
		uint32_t *v = (uint32_t *)((uint8_t *)mem + users);
		memcpy(v, in->subscription_ids, in->subscription_id_count * sizeof *v);
		out->subscription_ids = v;
	}
	out->content_type = copy_str(&a, in->content_type);
	out->response_topic = copy_str(&a, in->response_topic);
	out->reason_string = copy_str(&a, in->reason_string);
	out->auth_method = copy_str(&a, in->auth_method);
	out->assigned_client_id = copy_str(&a, in->assigned_client_id);
	out->response_info = copy_str(&a, in->response_info);
	out->server_reference = copy_str(&a, in->server_reference);
	out->correlation_data = copy_bin(&a, in->correlation_data, in->correlation_len);
	out->auth_data = copy_bin(&a, in->auth_data, in->auth_data_len);
}

const char *ferry_properties_get_user(const struct ferry_properties *props, const char *name)
{
	if (!props || !name || !props->user)
		return NULL;
	for (size_t i = 0; i < props->user_count; i++)
		if (props->user[i].name && strcmp(props->user[i].name, name) == 0)
			return props->user[i].value;
	return NULL;
}
