/* test_vectors.c - placeholder until the suite is written. */
#include "suites.h"

void register_vectors_suite(void)
{
}
