/*
 * suites.h - every CUnit suite of the unit test program. Each test file
 * defines one register function that adds its suite(s); main.c calls them all.
 */
#ifndef FERRY_TEST_SUITES_H
#define FERRY_TEST_SUITES_H

void register_errors_suite(void);
void register_cursor_suite(void);
void register_utf8_suite(void);
void register_props_suite(void);
void register_reason_suite(void);
void register_vectors_suite(void);
void register_roundtrip_suite(void);
void register_malformed_suite(void);
void register_frame_suite(void);
void register_topic_suite(void);
void register_topic_index_suite(void);
void register_uri_suite(void);
void register_backoff_suite(void);
void register_store_suite(void);
void register_keepalive_suite(void);
void register_session_suite(void);
void register_base64_suite(void);
void register_tunnel_suite(void);
void register_ws_suite(void);
void register_props_api_suite(void);

#endif
