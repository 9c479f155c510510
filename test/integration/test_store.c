#include "suites.h"
void register_store_suite(void)
{
}
