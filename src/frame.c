/* frame.c - being written. */
typedef int ferry__frame_placeholder;
