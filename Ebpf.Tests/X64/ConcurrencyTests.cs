using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

public class ConcurrencyTests
{
    /// <summary>Sums the input bytes in a loop, round-trips the sum through the stack, then adds 1000 in a helper.</summary>
    private static EbpfProgram SumProgram() => Program(
        I(OpCodes.Mov64Imm, 0, imm: 0),
        I(OpCodes.Mov64Imm, 3, imm: 0),
        I(OpCodes.JgeReg, 3, 2, 6),          // pc 2: done when index >= length -> pc 9
        I(OpCodes.Mov64Reg, 4, 1),
        I(OpCodes.Add64Reg, 4, 3),
        I(OpCodes.LdxB, 5, 4, 0),
        I(OpCodes.Add64Reg, 0, 5),
        I(OpCodes.Add64Imm, 3, imm: 1),
        I(OpCodes.Ja, offset: -7),           // pc 8 -> pc 2
        I(OpCodes.StxDW, 10, 0, -8),
        I(OpCodes.LdxDW, 0, 10, -8),
        I(OpCodes.Mov64Reg, 1, 0),
        I(OpCodes.Call, imm: 1),
        I(OpCodes.Exit));

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Many_threads_run_one_compiled_program_with_correct_results(string engine)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "add1000", (a, _, _, _, _) => a + 1000);
        using var compiled = TestEngines.Get(engine).Compile(SumProgram(), environment);
        const int threads = 8;
        const int runs = 300;
        var failures = new List<string>();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var memory = new byte[64 + t];
            ulong expected = 1000;
            for (int i = 0; i < memory.Length; i++)
            {
                memory[i] = (byte)((t * 37) + i);
                expected += memory[i];
            }

            start.SignalAndWait();
            for (int run = 0; run < runs; run++)
            {
                ulong got = compiled.Run(memory);
                if (got != expected)
                {
                    lock (failures)
                    {
                        failures.Add($"thread {t} run {run}: {got} != {expected}");
                    }

                    return;
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
    }
}
