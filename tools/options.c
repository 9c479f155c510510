/* options.c - being written. */
typedef int tools_options_placeholder;
