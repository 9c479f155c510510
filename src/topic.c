/* topic.c - being written. */
typedef int ferry__topic_placeholder;
