/*
 * ferry/ferry.h - public API of ferry, a durable asynchronous MQTT client.
 *
 * Ownership: inputs are borrowed for the duration of a call; ferry copies what
 * it keeps. Strings returned by ferry are static unless a function says
 * otherwise.
 *
 * Thread safety is stated per function.
 */
#ifndef FERRY_FERRY_H
#define FERRY_FERRY_H

#include <stddef.h>
#include <stdint.h>

#include <ferry/error.h>
#include <ferry/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MQTT protocol versions, by their protocol level byte. */
enum ferry_mqtt_version {
	FERRY_MQTT_3_1 = 3,   /* MQTT 3.1 ("MQIsdp") */
	FERRY_MQTT_3_1_1 = 4, /* MQTT 3.1.1 */
	FERRY_MQTT_5 = 5,     /* MQTT 5.0 */
};

/*
 * ferry_version - the library's version as 0xMMmmpp (see FERRY_VERSION_NUMBER);
 * if str is not NULL, *str is set to a static "MAJOR.MINOR.PATCH" string.
 * Compare with FERRY_VERSION_NUMBER to detect a header/library mismatch.
 * Safe from any thread and from callbacks.
 */
FERRY_API unsigned ferry_version(const char **str);

#ifdef __cplusplus
}
#endif

#endif
