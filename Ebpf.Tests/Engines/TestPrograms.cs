using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Engines;

/// <summary>Builds programs from slots and runs them on a named engine.</summary>
public static class TestPrograms
{
    /// <summary>One slot.</summary>
    public static Instruction I(byte opCode, byte dst = 0, byte src = 0, short offset = 0, int imm = 0) => new(opCode, dst, src, offset, imm);

    /// <summary>The two slots of <c>lddw dst, value</c>.</summary>
    public static Instruction[] Lddw(byte dst, ulong value) =>
        [new(OpCodes.Lddw, dst, 0, 0, (int)(uint)value), new(0, 0, 0, 0, (int)(uint)(value >> 32))];

    /// <summary>
    /// <c>bpf_tail_call(r1, map 0, index)</c> as clang emits it: the program array named by an <c>lddw</c> of r2 right
    /// before the call (the shape x64 compiles as a jump), r3 = <paramref name="index"/>, r1 as it is.
    /// </summary>
    public static Instruction[] TailCallThroughMap0(int index) =>
    [
        new(OpCodes.Lddw, 2, (byte)LddwSource.MapByIndex, 0, 0), new(0, 0, 0, 0, 0),
        I(OpCodes.Mov64Imm, 3, imm: index),
        I(OpCodes.Call, imm: (int)Ebpf.Helpers.LinuxHelperIds.TailCall),
    ];

    /// <summary>A program of the given slots (lddw pairs flattened), with only the structural checks.</summary>
    public static EbpfProgram Program(params object[] slots)
    {
        var list = new List<Instruction>();
        foreach (var s in slots)
        {
            switch (s)
            {
                case Instruction i: list.Add(i); break;
                case Instruction[] many: list.AddRange(many); break;
                default: throw new ArgumentException($"not a slot: {s}");
            }
        }

        return EbpfProgram.Create(list.ToArray(), StructuralOnlyVerifier.Instance);
    }

    /// <summary>
    /// Options with <see cref="VerificationMode.Structural"/> verification, for tests of what the run-time checks do with
    /// programs the default (hybrid) verification refuses at compile time: escape programs, uninitialised reads that the
    /// engines define (registers start at 0; r1-r5 survive a helper call), pointers into a caller's frame.
    /// </summary>
    public static ExecutionOptions StructuralOnly { get; } = new() { Verification = VerificationMode.Structural };

    /// <summary>Compiles and runs on <paramref name="engine"/> with optional memory.</summary>
    public static ulong Run(string engine, EbpfProgram program, byte[]? memory = null, ProgramEnvironment? environment = null, ExecutionOptions? options = null)
    {
        using var compiled = TestEngines.Get(engine).Compile(program, environment, options);
        return memory is null ? compiled.Run() : compiled.Run(memory);
    }
}
