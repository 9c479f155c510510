/*
 * keepalive.h - keepalive decisions, pure (MQTT 3.1.1 section 3.1.2.10,
 * MQTT 5.0 section 3.1.2.10): from the current time and the client's
 * last_sent, last_received, ping_outstanding and ping_sent_at, decide whether
 * to send PINGREQ or declare the connection lost, and when to look again.
 *
 * Times are milliseconds on a monotonic clock, given by the caller (no clock
 * reads here).
 *
 * Rules:
 *  - keepalive 0: never ping, never lost; next deadline UINT64_MAX.
 *  - No ping outstanding: send PINGREQ once nothing was sent for the keepalive
 *    interval, or nothing was received for the keepalive interval (so a link
 *    that only carries our own traffic is still probed). Deadline: the
 *    earlier of last_sent + interval and last_received + interval.
 *  - Ping outstanding: lost once nothing was received for ping_timeout since
 *    the later of ping_sent_at and last_received (any inbound byte counts as
 *    life). Deadline: that moment. With the default ping_timeout of half the
 *    interval, a dead link is declared lost by 1.5 x keepalive after the last
 *    byte received.
 */
#ifndef FERRY_KEEPALIVE_H
#define FERRY_KEEPALIVE_H

#include <stdbool.h>
#include <stdint.h>

enum ferry_ka_action {
	FERRY_KA_NONE = 0,
	FERRY_KA_SEND_PING,
	FERRY_KA_LOST,
};

struct ferry_ka_state {
	uint64_t interval_ms;     /* keepalive, 0 = off */
	uint64_t ping_timeout_ms; /* 0 = interval / 2 */
	uint64_t last_sent;       /* last byte written */
	uint64_t last_received;   /* last byte read */
	uint64_t ping_sent_at;    /* when the outstanding PINGREQ was written */
	bool ping_outstanding;
};

/*
 * ferry__keepalive_check - the action due at `now`; *next_deadline is set to
 * the time at which to call again (UINT64_MAX: never). After SEND_PING the
 * caller writes PINGREQ and sets ping_outstanding, ping_sent_at and
 * last_sent; on PINGRESP it clears ping_outstanding.
 */
enum ferry_ka_action ferry__keepalive_check(const struct ferry_ka_state *ka, uint64_t now,
                                            uint64_t *next_deadline);

#endif
