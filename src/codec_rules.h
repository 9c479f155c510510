/*
 * codec_rules.h - the validation rules the decoder and the encoder share, so
 * that ferry never writes a packet it would itself refuse (internal to
 * decode.c and encode.c; defined in decode.c).
 *
 * Pure: no I/O, no allocation. Each rule returns FERRY_OK or the codec error
 * (enum ferry_err) that ferry__decode reports for the same violation.
 */
#ifndef FERRY_CODEC_RULES_H
#define FERRY_CODEC_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

/* CONNECT flags byte (3.1.1 / 5.0 section 3.1.2.3). */
#define FERRY_CF_RESERVED       0x01u
#define FERRY_CF_CLEAN          0x02u
#define FERRY_CF_WILL           0x04u
#define FERRY_CF_WILL_QOS_SHIFT 3
#define FERRY_CF_WILL_QOS_MASK  0x18u
#define FERRY_CF_WILL_RETAIN    0x20u
#define FERRY_CF_PASSWORD       0x40u
#define FERRY_CF_USERNAME       0x80u

/* PUBLISH fixed-header flags (section 3.3.1). */
#define FERRY_PF_DUP       0x08u
#define FERRY_PF_QOS_SHIFT 1
#define FERRY_PF_QOS_MASK  0x06u
#define FERRY_PF_RETAIN    0x01u

/*
 * ferry__rule_type - is `type` a control packet of protocol `version`?
 * Returns FERRY_ERR_PACKET_TYPE for 0, above 15, and 15 (AUTH) before 5.0.
 */
int ferry__rule_type(uint8_t version, int type);

/*
 * ferry__rule_fixed_flags - the fixed-header flags every packet type but
 * PUBLISH must carry: 0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE, else 0000.
 */
uint8_t ferry__rule_fixed_flags(int type);

/* ferry__rule_publish_qos - FERRY_ERR_QOS for QoS above 2, FERRY_ERR_DUP_QOS0 for DUP at QoS 0. */
int ferry__rule_publish_qos(uint8_t qos, bool dup);

/*
 * ferry__rule_publish_topic - the PUBLISH topic with its properties: a topic
 * name (no wildcards); empty only in 5.0 and only with a Topic Alias
 * (FERRY_ERR_TOPIC_ALIAS), else FERRY_ERR_TOPIC_NAME; a Topic Alias of 0 is
 * FERRY_ERR_TOPIC_ALIAS. props is ignored before 5.0. UTF-8 errors as
 * ferry__topic_name_check gives them.
 */
int ferry__rule_publish_topic(uint8_t version, struct ferry_bytes topic,
                              const struct ferry_props *props);

/*
 * ferry__rule_connect_flags - a CONNECT flags byte of `version`: reserved bit
 * clear, will QoS 0..2 (3 is FERRY_ERR_CONNECT_FLAGS, not FERRY_ERR_QOS: the
 * byte as a whole is malformed), no will QoS or will retain without the will
 * flag, and before 5.0 no password without a user name.
 */
int ferry__rule_connect_flags(uint8_t version, uint8_t flags);

/*
 * ferry__rule_connect_props - MQTT 5 CONNECT properties as a whole:
 * Authentication Data without an Authentication Method is FERRY_ERR_PROTOCOL
 * (3.1.2.11.10). props may be NULL (nothing to check).
 */
int ferry__rule_connect_props(const struct ferry_props *props);

/* ferry__rule_client_id - 3.1 only: 1..23 bytes, else FERRY_ERR_CLIENT_ID. */
int ferry__rule_client_id(uint8_t version, struct ferry_bytes id);

/*
 * ferry__rule_sub_entry - one SUBSCRIBE entry: options byte (3.x: bits 2..7
 * clear; 5.0: bits 6..7 clear and retain handling not 3, else
 * FERRY_ERR_SUBSCRIPTION_OPTIONS; QoS 3 is FERRY_ERR_QOS), the filter
 * (FERRY_ERR_TOPIC_FILTER, UTF-8 errors; shared filters only in 5.0), and a
 * shared filter with No Local is FERRY_ERR_PROTOCOL.
 */
int ferry__rule_sub_entry(uint8_t version, struct ferry_bytes filter, uint8_t options);

/* ferry__rule_unsub_filter - an UNSUBSCRIBE filter (shared filters only in 5.0). */
int ferry__rule_unsub_filter(uint8_t version, struct ferry_bytes filter);

/* ferry__rule_reason - FERRY_ERR_REASON_CODE unless ferry__reason_valid(version, type, code). */
int ferry__rule_reason(uint8_t version, int type, uint8_t code);

/*
 * ferry__rule_connack - CONNACK session present with a return/reason code:
 * a refused connection cannot have a session (3.1.1 / 5.0; 3.1 has no flag).
 */
int ferry__rule_connack(uint8_t version, bool session_present, uint8_t code);

#endif
