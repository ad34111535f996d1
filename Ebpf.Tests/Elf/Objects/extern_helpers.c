/* Test object: helpers declared as external functions (not as constant function pointers), so clang emits
 * R_BPF_64_32 relocations against undefined symbols; the loader turns known bpf_* names into helper calls.
 * Compiled with: clang -O2 -g -ffile-prefix-map="$PWD"=. -target bpf -c extern_helpers.c -o extern_helpers.o */
extern unsigned long long bpf_ktime_get_ns(void);
extern unsigned int bpf_get_smp_processor_id(void);

__attribute__((section("socket"), used))
int extern_helpers(void *data, unsigned long long len)
{
    return (int)(bpf_ktime_get_ns() + bpf_get_smp_processor_id());
}

/* A program calling a function that is defined nowhere. */
extern int not_a_helper(int x);

__attribute__((section("socket/missing"), used))
int missing_symbol(void *data, unsigned long long len)
{
    return not_a_helper((int)len);
}
