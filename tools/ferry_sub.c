/* ferry_sub.c - being written. */
int main(void)
{
	return 1;
}
