/* proxy.c - being written. */
typedef int test_proxy_placeholder;
