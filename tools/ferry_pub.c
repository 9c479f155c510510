/* ferry_pub.c - being written. */
int main(void)
{
	return 1;
}
