/* store_sqlite.c - being written. */
typedef int ferry__store_sqlite_placeholder;
