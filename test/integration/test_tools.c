/* test_tools.c - placeholder until the suite is written. */
#include "suites.h"

void register_tools_suite(void)
{
}
