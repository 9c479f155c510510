/*
 * suites.h - every CUnit suite of the integration test program (real
 * mosquitto brokers started on 127.0.0.1). Each test file defines one
 * register function; main.c calls them all.
 */
#ifndef FERRY_ITEST_SUITES_H
#define FERRY_ITEST_SUITES_H

void register_support_suite(void);
void register_client_suite(void);
void register_client_script_suite(void);
void register_proxy_suite(void);
void register_reconnect_suite(void);
void register_tools_suite(void);
void register_samples_suite(void);
void register_store_suite(void);
void register_store_faults_suite(void);
void register_crash_suite(void);
void register_tls_suite(void);
void register_ws_suite(void);
void register_proxies_suite(void);
void register_mqtt5_suite(void);
void register_mqtt5_script_suite(void);
void register_malicious_suite(void);
void register_syscall_faults_suite(void);
void register_netfaults_suite(void);
void register_heap_suite(void);

#endif
