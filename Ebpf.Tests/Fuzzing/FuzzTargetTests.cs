using System.Text;
using Ebpf.Assembly;
using Ebpf.Fuzzing;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Fuzzing;

/// <summary>The fuzz targets' oracles fire on real defects and stay quiet on documented rejections.</summary>
public class FuzzTargetTests
{
    private static byte[] Diff(string asm, params byte[] memory) => new DifferentialInput(memory, Assembler.AssembleBytes(asm)).ToBytes();

    [Fact]
    public void The_differential_target_reports_an_engine_that_disagrees()
    {
        var targets = new FuzzTargets([TestEngines.Get("interpreter"), new FaultyEngine()]);
        var finding = Assert.Throws<FuzzFindingException>(() => targets.Get("diff").Run(Diff("ldxb r0, [r1]\nexit", 41)));
        Assert.Contains("faulty differs", finding.Message);
        Assert.Contains("r0=0x29", finding.Message);
        Assert.Contains("r0=0x2a", finding.Message);

        // An even result is where the faulty engine is right: no finding.
        targets.Get("diff").Run(Diff("ldxb r0, [r1]\nexit", 40));
    }

    [Fact]
    public void The_differential_target_does_not_compare_programs_that_expose_host_addresses()
    {
        var runner = new DifferentialRunner([TestEngines.Get("interpreter"), new FaultyEngine()]) { CheckAddressIndependence = true };
        var verdict = runner.Compare(Ebpf.Verification.ProgramLoader.Load(Assembler.AssembleBytes("mov r0, r10\nexit")), [], new ProgramEnvironment(), new ExecutionOptions());
        Assert.False(verdict.Compared);
        Assert.Null(verdict.Mismatch);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Every_engine_agrees_with_the_reference_on_a_program_with_memory_helpers_and_errors(string engine)
    {
        var runner = new DifferentialRunner([TestEngines.Get("interpreter"), TestEngines.Get(engine)]);
        var environment = new ProgramEnvironment(Ebpf.Conformance.ConformanceHelpers.CreateTable());
        var options = new ExecutionOptions { InstructionBudget = 1000 };
        var fine = runner.Compare(Ebpf.Verification.ProgramLoader.Load(Assembler.AssembleBytes("ldxdw r0, [r1+8]\nstxb [r1], r0\nexit")), Enumerable.Range(0, 16).Select(i => (byte)i).ToArray(), environment, options);
        Assert.Equal(("r0=0xf0e0d0c0b0a0908", (string?)null), (fine.Reference.Split(',')[0], fine.Mismatch));
        var outOfBounds = runner.Compare(Ebpf.Verification.ProgramLoader.Load(Assembler.AssembleBytes("ldxdw r0, [r1+12]\nexit")), new byte[16], environment, options);
        Assert.StartsWith("MemoryAccessViolation at pc 0", outOfBounds.Reference);
        Assert.Null(outOfBounds.Mismatch);
    }

    /// <summary>
    /// Found by the diff campaign as false findings: a loop whose path hung on bit 3 of the input's address stopped
    /// for the budget at other pcs when each engine's copy of the memory lay elsewhere. Every engine now runs on the
    /// memory at one address.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Every_engine_sees_the_memory_at_the_same_address(string engine)
    {
        var runner = new DifferentialRunner([TestEngines.Get("interpreter"), TestEngines.Get(engine)]);
        var program = Ebpf.Verification.ProgramLoader.Load(Assembler.AssembleBytes("mov r0, r1\nand r0, 0xfff8\nexit"));
        for (int length = 0; length < 40; length += 8)
        {
            var verdict = runner.Compare(program, new byte[length], new ProgramEnvironment(), new ExecutionOptions());
            Assert.Null(verdict.Mismatch);
        }

        var checking = new DifferentialRunner([TestEngines.Get("interpreter"), TestEngines.Get(engine)]) { CheckAddressIndependence = true };
        Assert.False(checking.Compare(program, new byte[8], new ProgramEnvironment(), new ExecutionOptions()).Compared);
    }

    [Fact]
    public void Rejections_with_the_projects_exceptions_are_not_findings()
    {
        var targets = new FuzzTargets(TestEngines.All);
        targets.Get("decode").Run([0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9]);           // unknown opcode, trailing bytes
        targets.Get("asm").Run(Encoding.UTF8.GetBytes("mov r11, 1\nbogus"));
        targets.Get("elf").Run(Encoding.ASCII.GetBytes("\x7f" + "ELF not really"));
        targets.Get("diff").Run([3, 1, 2]);                                      // memory longer than the input, no code
    }

    [Fact]
    public void An_exception_outside_the_hierarchy_is_a_finding()
    {
#pragma warning disable CA2201 // simulates the runtime's own exception escaping a defective target
        var target = new FuzzTarget("t", "throws", input => throw new IndexOutOfRangeException("boom"));
#pragma warning restore CA2201
        var finding = Assert.Throws<FuzzFindingException>(() => target.Run([]));
        Assert.IsType<IndexOutOfRangeException>(finding.InnerException);
        new FuzzTarget("u", "rejects", _ => throw new EbpfDecodeException("bad", 0)).Run([]);
    }

    [Fact]
    public void Differential_inputs_round_trip_and_any_bytes_parse()
    {
        var input = new DifferentialInput([1, 2, 3], Assembler.AssembleBytes("mov r0, 1\nexit"));
        var parsed = DifferentialInput.Parse(input.ToBytes());
        Assert.Equal(input.Memory, parsed.Memory);
        Assert.Equal(input.Code, parsed.Code);
        Assert.Empty(DifferentialInput.Parse([]).Code);
        Assert.Equal(2, DifferentialInput.Parse([200, 1, 2]).Memory.Length);
        Assert.Equal(8, DifferentialInput.Parse([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).Code.Length);
        Assert.Throws<ArgumentException>(() => new DifferentialInput(new byte[256], []).ToBytes());
    }

    [Fact]
    public void The_kernel_target_reports_an_engine_that_disagrees_on_a_test_run()
    {
        // XDP: r0 = the first packet byte (ctx->data rewritten to the packet pointer); odd values are where the faulty engine errs
        var code = Assembler.AssembleBytes("ldxw r2, [r1+0]\nldxw r3, [r1+4]\nmov r0, 2\nmov r4, r2\nadd r4, 1\njgt r4, r3, +1\nldxb r0, [r2]\nexit");
        var frame = new byte[14];
        var targets = new FuzzTargets([TestEngines.Get("interpreter"), new FaultyEngine()]);
        frame[0] = 41;
        var finding = Assert.Throws<FuzzFindingException>(() => targets.Get("kernel").Run(new KernelInput(Ebpf.Kernel.KernelProgramType.Xdp, frame, code).ToBytes()));
        Assert.Contains("faulty differs", finding.Message, StringComparison.Ordinal);
        Assert.Contains("retval=0x29", finding.Message, StringComparison.Ordinal);
        frame[0] = 40;
        targets.Get("kernel").Run(new KernelInput(Ebpf.Kernel.KernelProgramType.Xdp, frame, code).ToBytes());
    }

    [Fact]
    public void Kernel_inputs_round_trip_and_any_bytes_parse()
    {
        var input = new KernelInput(Ebpf.Kernel.KernelProgramType.SocketFilter, [1, 2, 3], Assembler.AssembleBytes("mov r0, 0\nexit"));
        var again = KernelInput.Parse(input.ToBytes());
        Assert.Equal(input.Type, again.Type);
        Assert.Equal(input.Packet, again.Packet);
        Assert.Equal(input.Code, again.Code);
        Assert.Equal(Ebpf.Kernel.KernelProgramType.SchedCls, KernelInput.Parse([4, 200, 1]).Type); // 4 % 3, a length past the end
        Assert.Empty(KernelInput.Parse([]).Code);
    }

    [Fact]
    public void The_pcap_target_reads_captures_and_rejects_garbage_without_a_finding()
    {
        var target = new FuzzTargets(TestEngines.All).Get("pcap");
        using var capture = new MemoryStream();
        using (var writer = new Ebpf.Kernel.Pcap.PcapWriter(capture, leaveOpen: true))
        {
            writer.Write(new byte[60], TimeSpan.FromSeconds(1));
            writer.Write([1, 2, 3], TimeSpan.FromSeconds(2));
        }

        target.Run(capture.ToArray());
        target.Run(capture.ToArray()[..30]); // cut inside a record header: EbpfPcapException
        target.Run(Encoding.ASCII.GetBytes("not a capture"));
    }
}
