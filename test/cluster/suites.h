/*
 * suites.h - the suites of the cluster test program (make check-cluster):
 * ferry against real clustered brokers started by the tests.
 */
#ifndef FERRY_TEST_CLUSTER_SUITES_H
#define FERRY_TEST_CLUSTER_SUITES_H

/* RabbitMQ (rabbitmq_mqtt), MQTT 3.1.1: failover with the session kept. */
void register_rabbitmq_suite(void);
/* ejabberd (mod_mqtt), MQTT 5: failover with the session lost. */
void register_ejabberd_suite(void);
/* Shared subscriptions ($share/group/filter) on mosquitto. */
void register_shared_suite(void);

#endif
