/* proxy.h - placeholder until the fault proxy is written. */
