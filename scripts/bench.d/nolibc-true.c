/* The cheapest possible program: exit(0) from _start, no libc at all.
 * Timing it gives the cost of fork + exec + exit of a static binary, the
 * floor below every "one exec link" figure in scripts/bench. */
void _start(void)
{
    __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
}
