/* store.c - being written. */
typedef int ferry__store_placeholder;
