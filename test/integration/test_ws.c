/* test_ws.c - being written. */
#include "suites.h"

void register_ws_suite(void)
{
}
