/*
 * reason.h - MQTT 5 reason codes and MQTT 3.x CONNACK/SUBACK return codes:
 * their names and the packets each is valid in (MQTT 5.0 section 2.4).
 *
 * Pure: static tables only.
 */
#ifndef FERRY_REASON_H
#define FERRY_REASON_H

#include <stdbool.h>
#include <stdint.h>

/*
 * ferry__reason_valid - is `code` a valid reason code in a packet of type
 * `ptype` (enum ferry_ptype) for protocol `version` (3, 4, 5)?
 * For 3.1/3.1.1 this checks CONNACK return codes (0..5) and SUBACK return
 * codes (0, 1, 2, and 0x80 for 3.1.1 only); other packets have none.
 */
bool ferry__reason_valid(uint8_t version, int ptype, uint8_t code);

/*
 * ferry__reason_name - a readable name for `code` as used in a packet of type
 * `ptype` ("Granted QoS 1" in SUBACK, "Normal disconnection" in DISCONNECT,
 * "Success" elsewhere; 3.x CONNACK codes by their 3.1.1 names).
 * Never NULL: unknown codes give "Unknown reason code".
 */
const char *ferry__reason_name(uint8_t version, int ptype, uint8_t code);

#endif
