/* decode.c - being written. */
typedef int ferry__decode_placeholder;
