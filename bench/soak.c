/* soak.c - placeholder: written by a helper this session. */
int main(void)
{
	return 0;
}
