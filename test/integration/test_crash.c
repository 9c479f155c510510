#include "suites.h"
void register_crash_suite(void)
{
}
