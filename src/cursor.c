/* cursor.c - being written. */
typedef int ferry__cursor_placeholder;
