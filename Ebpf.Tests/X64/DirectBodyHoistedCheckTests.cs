using Ebpf.Execution;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.X64.DirectBodyTests;

namespace Ebpf.Tests.X64;

/// <summary>
/// The x64 direct body's hoisted check: when every access the body checks is at a constant offset of zero or more from
/// an r1 the program never writes, the body starts with one compare of the input length with the largest offset + size
/// (every check of every path passes from that length on) and runs a copy without checks; a shorter input runs the body
/// with every check. Expected values are read from the input by hand or, for faults and stores, compared with the
/// interpreter's; lengths go one by one across every offset + size the programs have.
/// </summary>
[Collection(Ebpf.Tests.Diagnostics.RunListenerCollection.Name)]
public class DirectBodyHoistedCheckTests
{
    /// <summary>
    /// Loads of three sizes on two paths chosen by the first input byte, and a store before the last load: the taken
    /// path's accesses end at 8 and 16 bytes, the other path's at 32.
    /// </summary>
    private const string TwoPaths = """
        ldxb r0, [r1+0]
        jeq r0, 0x11, +2
        ldxdw r3, [r1+24]
        ja +2
        mov r3, 7
        stxh [r1+6], r3
        ldxw r4, [r1+12]
        add r0, r4
        add r0, r3
        exit
        """;

    [Fact]
    public void Constant_offsets_from_an_unchanged_r1_are_checked_once_at_the_entry()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        using var twoLoads = Compile("x64", "ldxdw r0, [r1+0]\nldxdw r2, [r1+8]\nadd r0, r2\nexit");
        string body = DirectListing(twoLoads);
        var instructions = body.Split('\n').Where(line => line.StartsWith("  ", StringComparison.Ordinal)).ToArray();
        Assert.EndsWith("cmp     rsi,10h", instructions[0]);
        Assert.Contains("jb ", instructions[1]);

        using var twoPaths = Compile("x64", TwoPaths);
        Assert.EndsWith("cmp     rsi,20h", DirectListing(twoPaths).Split('\n').First(line => line.StartsWith("  ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("mov r3, r1\nldxdw r0, [r3+0]\nexit")]
    [InlineData("ldxdw r0, [r1+0]\nadd r1, 8\nldxdw r2, [r1+0]\nadd r0, r2\nexit")]
    [InlineData("ldxdw r0, [r1+0]\nldxb r2, [r1-1]\nexit")]
    public void A_check_the_entry_cannot_decide_keeps_the_body_as_it_was(string source)
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // A base other than r1, an r1 the program moves, a negative offset: the accesses are checked where they are
        // (jae after a computed address, jbe after a constant offset), with no jump on the length at the entry.
        using var compiled = Compile("x64", source);
        string body = DirectListing(compiled);
        Assert.True(body.Contains("jae ", StringComparison.Ordinal) || body.Contains("jbe ", StringComparison.Ordinal), body);
        Assert.DoesNotContain("jb ", body);
    }

    [Fact]
    public void Without_memory_checks_there_is_nothing_to_hoist()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        using var compiled = Compile("x64", "ldxdw r0, [r1+0]\nldxdw r2, [r1+8]\nadd r0, r2\nexit", ExecutionOptions.Default with { MemoryChecks = false });
        Assert.DoesNotContain("cmp", DirectListing(compiled));
    }

    [Theory]
    [InlineData(0x11)]
    [InlineData(0x00)]
    public void Every_length_around_every_extent_gives_the_plain_outcome(byte first)
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        for (int length = 0; length <= 34; length++)
        {
            var input = Input(length);
            if (length > 0)
            {
                input[0] = first;
            }

            ulong start = length == 0 ? 0 : Address(input);
            bool taken = first == 0x11;
            if (length < 1)
            {
                AssertOutcome(TwoPaths, input, 0, 0, start, 1);
            }
            else if (!taken && length < 32)
            {
                AssertOutcome(TwoPaths, input, 0, 2, start + 24, 8);
            }
            else if (!taken)
            {
                AssertOutcome(TwoPaths, input, first + Read(input, 12, 4) + Read(input, 24, 8));
            }
            else if (length < 8)
            {
                AssertOutcome(TwoPaths, input, 0, 5, start + 6, 2, MemoryAccessKind.Write);
            }
            else if (length < 16)
            {
                // The store before the failing load has been made.
                AssertOutcome(TwoPaths, input, 0, 6, start + 12, 4);
                Assert.Equal([7, 0], input[6..8]);
            }
            else
            {
                var copy = input.ToArray();
                copy[6] = 7;
                copy[7] = 0;
                AssertOutcome(TwoPaths, input, 0x11 + Read(copy, 12, 4) + 7);
                Assert.Equal(copy, input);
            }
        }
    }
}
