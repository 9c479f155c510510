/* utf8.c - being written. */
typedef int ferry__utf8_placeholder;
