/* reason.c - being written. */
typedef int ferry__reason_placeholder;
