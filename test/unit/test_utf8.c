/* test_utf8.c - placeholder until the suite is written. */
#include "suites.h"

void register_utf8_suite(void)
{
}
