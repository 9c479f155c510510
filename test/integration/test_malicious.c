/* test_malicious.c - placeholder: written by a helper this session. */
#include "suites.h"
void register_malicious_suite(void)
{
}
