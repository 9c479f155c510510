/* test_topic_index.c - placeholder until the suite is written. */
#include "suites.h"

void register_topic_index_suite(void)
{
}
