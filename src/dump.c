/* dump.c - being written. */
typedef int ferry__dump_placeholder;
