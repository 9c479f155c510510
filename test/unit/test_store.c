/* test_store.c - placeholder until the store suite is written. */
#include "suites.h"

void register_store_suite(void)
{
}
