/* store_sqlite.h - being written. */
