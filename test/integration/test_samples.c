/* test_samples.c - placeholder until the suite is written. */
#include "suites.h"

void register_samples_suite(void)
{
}
