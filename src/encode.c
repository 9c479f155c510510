/* encode.c - being written. */
typedef int ferry__encode_placeholder;
