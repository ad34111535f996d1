using CsCheck;
using Ebpf.Cli.Plugin;
using Ebpf.Fuzzing.Generation;
using Ebpf.Isa;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Tests.Verification;
using Ebpf.Verification;
using Ebpf.Vm;

namespace Ebpf.Tests.Differential;

/// <summary>
/// Generated programs that must be rejected (issue 17's shape: a jump into another function from unreachable code) are
/// rejected identically on every path that leads to an engine: the structural analysis under a structural-only verifier
/// (directly and through the rbpf-style VM on each engine), and the default verifier's paths (the loader, the VM and the
/// conformance plugin on each engine); none of them reaches an engine's compiler.
/// </summary>
public class RejectedProgramTests
{
    private const int Programs = 200;

    /// <summary>
    /// <c>0: ja +1</c>; <c>1:</c> the bad jump (never reached); <c>2: call local f</c>; a generated valid program (with
    /// its own local function, if any); <c>f: mov r0, 1; exit</c>. The bad jump lands in f or in the generated
    /// program's local function, or just past the program's end.
    /// </summary>
    private static readonly Gen<(Instruction[] Slots, long Target)> Rejected = Gen.Select(
        ProgramGenerator.Program,
        Gen.Int[0, 5],
        Gen.Int[0, 1000],
        (generated, form, choice) => Build(generated, form, choice));

    private static (Instruction[] Slots, long Target) Build(GeneratedProgram generated, int form, int choice)
    {
        var inner = EbpfProgram.Create(generated.Slots, StructuralOnlyVerifier.Instance);
        int offset = 3;
        int f = offset + generated.Slots.Length;
        var candidates = new List<long> { f, f + 1 };
        if (inner.Functions.Length > 1)
        {
            candidates.Add(offset + inner.Functions[1].Start + (choice % inner.Functions[1].Length));
        }

        long target = candidates[choice % candidates.Count];
        if (inner.Functions.Length > 1 && offset + inner.Functions[1].Start + (choice % inner.Functions[1].Length) == target
            && inner.IsSecondSlot((int)target - offset))
        {
            target--; // the first slot of the lddw, still inside the local function
        }

        short jump = (short)(target - 2);
        var bad = form switch
        {
            0 => new Instruction(OpCodes.Ja, 0, 0, jump, 0),
            1 => new Instruction(OpCodes.Ja32, 0, 0, 0, jump),
            2 => new Instruction(OpCodes.JeqImm, 3, 0, jump, 7),
            3 => new Instruction(OpCodes.Jne32Imm, 3, 0, jump, 7),
            4 => new Instruction(OpCodes.JsleReg, 4, 5, jump, 0),
            _ => new Instruction(OpCodes.Jset32Imm, 6, 0, jump, -1),
        };
        var slots = new List<Instruction>
        {
            new(OpCodes.Ja, 0, 0, 1, 0),
            bad,
            new(OpCodes.Call, 0, 1, 0, f - 3),
        };
        slots.AddRange(generated.Slots);
        slots.Add(new(OpCodes.Mov64Imm, 0, 0, 0, 1));
        slots.Add(new(OpCodes.Exit, 0, 0, 0, 0));
        return (slots.ToArray(), target);
    }

    [Fact]
    public void Cross_function_jumps_from_unreachable_code_are_rejected_identically_on_every_path()
    {
        Rejected.Sample(
            rejected =>
            {
                var bytes = Instruction.EncodeAll(rejected.Slots);
                var structural = Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(bytes, StructuralOnlyVerifier.Instance));
                Assert.Equal(1, structural.Pc);
                Assert.StartsWith($"jump target {rejected.Target} is outside the function at 0..", structural.Reason);

                // Paths with the default (policy) verifier give the loader's error, which may be a policy error of the
                // generated part (it runs first); paths with a structural-only verifier give the structural error.
                string policy = Assert.Throws<EbpfVerificationException>(() => ProgramLoader.Load(bytes)).Message;
                var paths = new List<(string Path, string Message, string Expected)>();
                foreach (var engine in TestEngines.All)
                {
                    paths.Add(($"vm on {engine.Name}", Assert.Throws<EbpfVerificationException>(() => new EbpfVmRaw(bytes, engine)).Message, policy));
                    using var vm = new EbpfVmRaw(null, engine);
                    vm.SetVerifier(StructuralOnlyVerifier.Instance);
                    paths.Add(($"structural vm on {engine.Name}", Assert.Throws<EbpfVerificationException>(() => vm.SetProgram(bytes)).Message, structural.Message));
                    var stderr = new StringWriter();
                    int code = ConformancePlugin.Run(["--engine", engine.Name], new StringReader(CrossFunctionJumpTests.Hex(bytes)), new StringWriter(), stderr);
                    Assert.Equal(1, code);
                    paths.Add(($"plugin on {engine.Name}", stderr.ToString().TrimEnd('\n'), policy));
                }

                foreach (var (path, message, expected) in paths)
                {
                    Assert.True(message == expected, $"{path}: {message}\n  expected: {expected}");
                }
            },
            iter: Programs,
            print: rejected => Ebpf.Assembly.Disassembler.ToText(rejected.Slots));
    }
}
