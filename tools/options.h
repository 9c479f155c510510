/* options.h - being written. */
