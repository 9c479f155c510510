/* store_memory.c - being written. */
typedef int ferry__store_memory_placeholder;
