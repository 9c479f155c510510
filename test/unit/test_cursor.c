/* test_cursor.c - placeholder until the suite is written. */
#include "suites.h"

void register_cursor_suite(void)
{
}
