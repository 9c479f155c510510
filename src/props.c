/* props.c - being written. */
typedef int ferry__props_placeholder;
