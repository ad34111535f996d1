using System.Runtime.CompilerServices;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Ebpf.Vm;

namespace Ebpf.Tests.Vm;

public unsafe class VmOperationTests
{
    private static byte[] Asm(string text) => Assembler.AssembleBytes(text);

    [Fact]
    public void A_vm_without_a_program_refuses_to_run_until_one_is_set()
    {
        using var vm = new EbpfVmNoData(null);
        Assert.Null(vm.Program);
        Assert.Throws<InvalidOperationException>(() => vm.ExecuteProgram());
        Assert.Throws<InvalidOperationException>(() => vm.JitCompile());
        vm.SetProgram(Asm("mov r0, 5\nexit"));
        Assert.Equal(5UL, vm.ExecuteProgram());
    }

    [Fact]
    public void SetProgram_replaces_the_program_and_verifies_it()
    {
        using var vm = new EbpfVmRaw(Asm("mov r0, 1\nexit"));
        Assert.Equal(1UL, vm.ExecuteProgram([]));
        vm.SetProgram(Asm("mov r0, 2\nexit"));
        Assert.Equal(2UL, vm.ExecuteProgram([]));

        // The default verifier rejects a jump to itself (rbpf's "infinite loop" rule); the old program stays.
        Assert.Throws<EbpfVerificationException>(() => vm.SetProgram(Asm("ja -1\nexit")));
        Assert.Equal(2UL, vm.ExecuteProgram([]));
        Assert.Throws<EbpfDecodeException>(() => vm.SetProgram([0x95, 0, 0]));
    }

    [Fact]
    public void SetVerifier_checks_the_loaded_program_and_keeps_the_old_verifier_on_failure()
    {
        using var vm = new EbpfVmNoData(Asm("mov r0, 7\nexit"));
        var rejectAll = Verifier.FromDelegate(_ => "nothing passes");
        Assert.Throws<EbpfVerificationException>(() => vm.SetVerifier(rejectAll));
        Assert.Same(Verifier.Default, vm.Verifier);

        var acceptAll = Verifier.FromDelegate(_ => null);
        vm.SetVerifier(acceptAll);
        Assert.Same(acceptAll, vm.Verifier);

        // The new verifier now decides for later programs: only the structural checks remain, so a jump to itself loads.
        vm.SetProgram(Asm("ja -1\nexit"));

        // Going back to the default verifier re-checks the loaded program, which it rejects.
        Assert.Throws<EbpfVerificationException>(() => vm.SetVerifier(Verifier.Default));
        Assert.Same(acceptAll, vm.Verifier);
    }

    [Fact]
    public void A_verifier_set_before_any_program_is_not_run_until_one_is_loaded()
    {
        using var vm = new EbpfVmNoData(null);
        int calls = 0;
        vm.SetVerifier(Verifier.FromDelegate(_ =>
        {
            calls++;
            return null;
        }));
        Assert.Equal(0, calls);
        vm.SetProgram(Asm("mov r0, 1\nexit"));
        Assert.Equal(1, calls);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void RegisterHelper_makes_a_helper_callable_and_needs_a_new_JitCompile(string engine)
    {
        var program = Asm("mov r1, 9\ncall 3\nexit");
        using var vm = new EbpfVmNoData(program, TestEngines.Get(engine));
        Assert.Throws<EbpfUnknownHelperException>(() => vm.ExecuteProgram());
        vm.RegisterHelper(3, RbpfHelpers.Sqrti().Simple!);
        Assert.Equal(3UL, vm.ExecuteProgram());
        vm.JitCompile();
        Assert.True(vm.IsJitCompiled);
        Assert.Equal(3UL, vm.ExecuteProgramJit());

        vm.RegisterHelper(3, (a, _, _, _, _) => a + 1);
        Assert.False(vm.IsJitCompiled);
        Assert.Throws<InvalidOperationException>(() => vm.ExecuteProgramJit());
        Assert.Equal(10UL, vm.ExecuteProgram());
        vm.JitCompile();
        Assert.Equal(10UL, vm.ExecuteProgramJit());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void RegisterAllowedMemory_allows_whole_accesses_inside_the_range(string engine)
    {
        var buffer = GC.AllocateArray<byte>(8, pinned: true);
        buffer[7] = 0x42;
        ulong address = (ulong)Unsafe.AsPointer(ref buffer[0]);
        // r1 = the address (passed through the packet), then read one byte at +7 or four bytes at +6.
        var readByte = Asm("ldxdw r1, [r1]\nldxb r0, [r1+7]\nexit");
        var readWord = Asm("ldxdw r1, [r1]\nldxw r0, [r1+6]\nexit");
        var packet = BitConverter.GetBytes(address);

        using var vm = new EbpfVmRaw(readByte, TestEngines.Get(engine));
        Assert.Throws<EbpfMemoryAccessException>(() => vm.ExecuteProgram(packet));
        vm.RegisterAllowedMemory(address, 8, writable: false);
        Assert.Equal(0x42UL, vm.ExecuteProgram(packet));
        vm.JitCompile();
        Assert.Equal(0x42UL, vm.ExecuteProgramJit(packet));

        // rbpf would accept this access because its first byte is allowed; we check all four bytes.
        vm.SetProgram(readWord);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => vm.ExecuteProgram(packet));
        Assert.Equal(address + 6, e.Address);
        Assert.Equal(4UL, e.Size);
    }

    [Fact]
    public void ExecuteProgramJit_before_JitCompile_is_an_error()
    {
        using var vm = new EbpfVmRaw(Asm("mov r0, 1\nexit"));
        var e = Assert.Throws<InvalidOperationException>(() => vm.ExecuteProgramJit([]));
        Assert.Contains("JitCompile", e.Message);
        vm.JitCompile();
        Assert.Equal(1UL, vm.ExecuteProgramJit([]));
        vm.SetProgram(Asm("mov r0, 2\nexit"));
        Assert.Throws<InvalidOperationException>(() => vm.ExecuteProgramJit([]));
    }

    [Fact]
    public void The_default_jit_engine_is_the_interpreter_and_options_are_applied()
    {
        using var vm = new EbpfVmNoData(Asm("ja +0\nja -2\nexit"), options: new ExecutionOptions { InstructionBudget = 100 });
        Assert.Equal("interpreter", vm.JitEngine.Name);
        Assert.Throws<EbpfBudgetExceededException>(() => vm.ExecuteProgram());
    }

    [Fact]
    public void FixedMbuff_offsets_are_validated_and_can_change_with_the_program()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EbpfVmFixedMbuff(null, -1, 8));
        using var vm = new EbpfVmFixedMbuff(Asm("ldxdw r2, [r1+0]\nldxdw r3, [r1+8]\nsub r3, r2\nmov r0, r3\nexit"), 0, 8);
        Assert.Equal(5UL, vm.ExecuteProgram(new byte[5]));
        vm.SetProgram(Asm("ldxdw r2, [r1+16]\nldxdw r3, [r1+32]\nsub r3, r2\nmov r0, r3\nexit"), 16, 32);
        Assert.Equal((16, 32), (vm.DataOffset, vm.DataEndOffset));
        Assert.Equal(7UL, vm.ExecuteProgram(new byte[7]));
        Assert.Equal(0UL, vm.ExecuteProgram([]));
    }

    [Fact]
    public void A_disposed_vm_refuses_everything()
    {
        var vm = new EbpfVmNoData(Asm("mov r0, 1\nexit"));
        Assert.Equal(1UL, vm.ExecuteProgram());
        vm.JitCompile();
        vm.Dispose();
        vm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => vm.ExecuteProgram());
        Assert.Throws<ObjectDisposedException>(() => vm.ExecuteProgramJit());
        Assert.Throws<ObjectDisposedException>(() => vm.SetProgram(Asm("exit")));
    }

    [Fact]
    public void FixedMbuff_runs_from_several_threads_each_see_their_own_packet()
    {
        using var vm = new EbpfVmFixedMbuff(Asm("ldxdw r2, [r1+0]\nldxdw r3, [r1+8]\nsub r3, r2\nmov r0, r3\nexit"), 0, 8);
        int failures = 0;
        Parallel.For(1, 5, t =>
        {
            var packet = new byte[t * 10];
            for (int i = 0; i < 200; i++)
            {
                if (vm.ExecuteProgram(packet) != (ulong)packet.Length)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        Assert.Equal(0, failures);
    }
}
