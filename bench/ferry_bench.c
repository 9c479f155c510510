/* ferry_bench.c - placeholder until the benchmark is written. */
int main(void)
{
	return 3;
}
