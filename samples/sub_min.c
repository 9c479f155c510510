/* sub_min.c - being written. */
int main(void)
{
	return 1;
}
