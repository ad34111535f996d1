using System.Collections.Concurrent;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Helpers;

/// <summary>
/// bpf_loop's loop run by the engine (<c>HelperContext.CallFunctionLoop</c>): what each call gets when the engine sets
/// the callback's entry up once per loop (x64 reuses one run block for every call), and how a call that ends the run
/// ends the loop, on every engine.
/// </summary>
public class CallbackLoopTests
{
    private const uint Record = 0x10001;

    /// <summary>
    /// bpf_loop(4, record_call, r10 - 8, 0); the callback passes its index, a scratch value and its data pointer to a
    /// helper (which overwrites the engine's helper arguments), then returns 0. r0 = bpf_loop's result.
    /// </summary>
    private const string RecordingLoop = """
        mov r1, 4
        lddw r2, code_addr record_call
        mov r3, r10
        add r3, -8
        mov r4, 0
        call 181
        exit
        record_call:
        mov r6, r2
        mov r3, r2
        mov r2, 0x5555
        mov r4, r10
        mov r5, 0x7777
        call 0x10001
        mov r0, 0
        exit
        """;

    private static (ulong Result, List<(ulong Index, ulong Data, ulong FrameTop)> Calls) RunRecording(string engine, Func<ulong, ulong> onCall)
    {
        var calls = new ConcurrentQueue<(ulong, ulong, ulong)>();
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.Helpers.Set(new Helper(Record, "record", (ctx, index, scratch, data, frameTop, _) =>
        {
            Assert.Equal(0x5555UL, scratch);
            calls.Enqueue((index, data, frameTop));
            ulong stop = onCall(index);
            if (stop != 0)
            {
                ctx.Stop(stop);
            }

            return 0;
        }));
        using var compiled = TestEngines.Get(engine).Compile(ProgramLoader.Load(Assembler.Assemble(RecordingLoop)), environment);
        ulong result = compiled.Run(new byte[16]);
        return (result, [.. calls]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Every_call_gets_its_index_the_loops_data_and_the_same_frame_although_the_previous_call_called_a_helper(string engine)
    {
        var (result, calls) = RunRecording(engine, _ => 0);

        Assert.Equal(4UL, result);
        Assert.Equal([0UL, 1, 2, 3], calls.Select(c => c.Index));

        // The data is the caller's r10 - 8 and the callback's frame top is 512 bytes below the caller's r10, in every call.
        Assert.Single(calls.Select(c => c.Data).Distinct());
        Assert.Single(calls.Select(c => c.FrameTop).Distinct());
        Assert.Equal(calls[0].Data + 8 - 512, calls[0].FrameTop);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_helper_that_ends_the_run_inside_a_call_ends_the_loop_there_with_its_value(string engine)
    {
        var (result, calls) = RunRecording(engine, index => index == 2 ? 0xabcUL : 0);

        Assert.Equal(0xabcUL, result);
        Assert.Equal([0UL, 1, 2], calls.Select(c => c.Index));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Two_loops_in_a_row_each_start_at_index_0_with_their_own_data(string engine)
    {
        const string source = """
            mov r6, 0
            stxdw [r10-8], r6
            stxdw [r10-16], r6
            mov r1, 3
            lddw r2, code_addr add_index
            mov r3, r10
            add r3, -8
            mov r4, 0
            call 181
            mov r7, r0
            mov r1, 5
            lddw r2, code_addr add_index
            mov r3, r10
            add r3, -16
            mov r4, 0
            call 181
            mul r7, 10
            add r7, r0
            ldxdw r0, [r10-8]
            mul r0, 1000
            add r0, r7
            ldxdw r1, [r10-16]
            mul r1, 100000
            add r0, r1
            exit
            add_index:
            ldxdw r3, [r2]
            add r3, r1
            add r3, 1
            stxdw [r2], r3
            mov r0, 0
            exit
            """;

        // First loop: 1 + 2 + 3 = 6 into r10 - 8, 3 calls; second: 1 + ... + 5 = 15 into r10 - 16, 5 calls.
        using var compiled = TestEngines.Get(engine).Compile(ProgramLoader.Load(Assembler.Assemble(source)), LinuxHelpers.Register(new ProgramEnvironment()));
        Assert.Equal((15UL * 100000) + (6 * 1000) + 35, compiled.Run(new byte[16]));
    }
}
