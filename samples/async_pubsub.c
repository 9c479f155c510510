/* async_pubsub.c - being written. */
int main(void)
{
	return 1;
}
