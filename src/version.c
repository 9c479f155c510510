/* version.c - ferry_version(). */
#include "ferry/ferry.h"

unsigned ferry_version(const char **str)
{
	if (str)
		*str = FERRY_VERSION_STRING;
	return (unsigned)FERRY_VERSION_NUMBER;
}
