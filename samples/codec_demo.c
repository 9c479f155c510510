/* codec_demo.c - placeholder until the codec lands. */
int main(void)
{
	return 0;
}
