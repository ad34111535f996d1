/* Test object: static functions in .text, called from a program section through a relocation against the .text
 * section symbol (imm = slot - 1) and from each other without relocation (pc-relative).
 * Compiled with: clang -O2 -g -ffile-prefix-map="$PWD"=. -target bpf -c static_calls.c -o static_calls.o */
static __attribute__((noinline)) int triple(int x) { return x * 3; }
static __attribute__((noinline)) int triple_plus_one(int x) { return triple(x) + 1; }

__attribute__((section("socket"), used))
int static_calls(void *data, unsigned long long len)
{
    return triple_plus_one((int)len);
}
