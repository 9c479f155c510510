/* test_roundtrip.c - placeholder until the suite is written. */
#include "suites.h"

void register_roundtrip_suite(void)
{
}
