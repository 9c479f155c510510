/* topic_index.c - being written. */
typedef int ferry__topic_index_placeholder;
