using Ebpf.Analysis;
using Ebpf.Helpers;
using Ebpf.Kernel;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Helper signatures (issue 13): every helper the library registers declares one, and a signature a user declares for
/// a helper of their own is what the analysis checks the call's arguments against.
/// </summary>
public class HelperSignatureTests
{
    private const uint Digest = 90;

    public static TheoryData<string> BuiltInTables() => ["linux", "rbpf", "xdp", "tc", "socket"];

    private static HelperTable BuiltIn(string which) => which switch
    {
        "linux" => LinuxHelpers.Register(new HelperTable()),
        "rbpf" => RbpfHelpers.Register(new HelperTable()),
        "xdp" => PacketHelpers.Register(new HelperTable(), KernelProgramType.Xdp),
        "tc" => PacketHelpers.Register(new HelperTable(), KernelProgramType.SchedCls),
        _ => PacketHelpers.Register(new HelperTable(), KernelProgramType.SocketFilter),
    };

    [Theory]
    [MemberData(nameof(BuiltInTables))]
    public void Every_built_in_helper_declares_a_signature(string which)
    {
        var table = BuiltIn(which);
        Assert.NotEmpty(table);
        var undeclared = table.Where(h => h.Signature is null).Select(h => $"{h.Id} {h.Name}").ToArray();
        Assert.True(undeclared.Length == 0, $"{which}: no signature for {string.Join(", ", undeclared)}");
    }

    /// <summary>A context with one user helper, <c>digest(buffer, size)</c>, declared (or not) as reading <c>size</c> bytes.</summary>
    private static SafetyContext Context(bool declared)
    {
        var helper = new Helper(Digest, "digest", (_, _, _, _, _) => 0);
        if (declared)
        {
            helper = helper.WithSignature(HelperSignature.Of(HelperArgumentKind.ReadableMemory, HelperArgumentKind.MemorySize));
        }

        return new SafetyContext([KeyValuePair.Create(helper.Id, helper.Signature)]);
    }

    private static string Call(int written, int offset, int size) => $"""
        {string.Concat(Enumerable.Range(1, written).Select(i => $"stdw [r10-{8 * i}], 0\n"))}mov r1, r10
        add r1, {offset}
        mov r2, {size}
        call {Digest}
        exit
        """;

    [Fact]
    public void A_user_declared_signature_proves_the_helpers_memory_argument()
    {
        var analysis = Analyze.Asm(Call(written: 2, offset: -16, size: 16), Context(declared: true));
        Assert.True(analysis.IsProven, string.Join("\n", analysis.Errors.Concat(analysis.Unproven)));
    }

    [Fact]
    public void A_user_declared_signature_rejects_a_buffer_partly_uninitialised_or_past_the_frame()
    {
        var uninitialised = Analyze.Asm(Call(written: 1, offset: -16, size: 16), Context(declared: true));
        Assert.Equal("r1: reads the uninitialised stack byte fp-16", Single(uninitialised.Errors).Message);
        var pastTheFrame = Analyze.Asm(Call(written: 1, offset: -8, size: 16), Context(declared: true));
        Assert.Equal("r1: stack offset -8 (16 bytes) is outside the 512-byte frame", Single(pastTheFrame.Errors).Message);
    }

    [Fact]
    public void Without_a_declared_signature_the_same_call_is_unproven()
    {
        var analysis = Analyze.Asm(Call(written: 2, offset: -16, size: 16), Context(declared: false));
        Assert.True(analysis.IsSafe);
        Assert.False(analysis.IsProven);
        Assert.Equal($"helper {Digest} has no declared signature (Helper.Signature), so its arguments are not checked", Single(analysis.Unproven).Message);
    }

    private static SafetyFinding Single(IEnumerable<SafetyFinding> findings) => Assert.Single(findings);
}
