/* test_frame.c - placeholder until the suite is written. */
#include "suites.h"

void register_frame_suite(void)
{
}
