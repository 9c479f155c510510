/* store_sqlite_schema.c - being written. */
typedef int ferry__store_sqlite_schema_placeholder;
