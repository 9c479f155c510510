/* test_props.c - placeholder until the suite is written. */
#include "suites.h"

void register_props_suite(void)
{
}
