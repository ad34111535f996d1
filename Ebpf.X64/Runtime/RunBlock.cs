using System.Runtime.InteropServices;
using Ebpf.Execution;

namespace Ebpf.X64.Runtime;

/// <summary>
/// The per-run block the generated code works with (x86 register r12 points at it during a run): the run's regions
/// prepared for the inline checks, the budget, the helper-call area and the error status. It lives on the managed
/// stack of <see cref="X64CompiledProgram"/>'s run method; the offsets are fixed because the generated code uses them.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal unsafe struct RunBlock
{
    public const int Size = 304;
    public const int StateOffset = 0;
    public const int InputStartOffset = 8;
    public const int InputLimitOffset = 16;     // 4 entries: sizes 1, 2, 4, 8
    public const int MetadataStartOffset = 48;
    public const int MetadataLengthOffset = 56;
    public const int InputLengthOffset = 64;
    public const int StackEndOffset = 72;
    public const int CallLimitOffset = 80;
    public const int BudgetOffset = 88;
    public const int SavedRspOffset = 96;
    public const int StatusOffset = 104;
    public const int ErrorInfoOffset = 108;
    public const int ErrorAddressOffset = 112;
    public const int ErrorFrameOffset = 120;
    public const int ProgramOffset = 128;
    public const int ArgsOffset = 136;          // 5 entries: r1..r5 at a helper call
    public const int CallFrameOffset = 176;
    public const int CallxIdOffset = 184;
    public const int RegionsOffset = 192;
    public const int RegionCountOffset = 200;
    public const int ContextAddressOffset = 208;
    public const int ContextLengthOffset = 216;
    public const int SavedRegistersOffset = 224; // 4 entries: r6..r9 while a helper call is out in the host
    public const int ExitSiteOffset = 256;
    public const int CallCountOffset = 260;
    public const int FrameSaveOffset = 264;
    public const int HeldR0Offset = 272;
    public const int GuardRestOffset = 280;
    public const int TailSiteOffset = 288;
    public const int FrameBoundaryOffset = 296;

    /// <summary>The bytes of one local call's native frame: the caller's r6-r10 and the return address.</summary>
    public const int FrameRecordBytes = 48;

    /// <summary>The most local-call frames live at once: <see cref="ExecutionOptions.MaxCallDepth"/> is at most 64, and a
    /// local call needs room for one more frame below the caller's (see <see cref="CallLimit"/>), so at most 63 frames are
    /// nested below the entry function's.</summary>
    public const int MaxNestedFrames = 63;

    /// <summary>The size of the frame save area (see <see cref="FrameSave"/>): <see cref="MaxNestedFrames"/> frames.</summary>
    public const int FrameSaveBytes = MaxNestedFrames * FrameRecordBytes;

    /// <summary>The shared run state.</summary>
    [FieldOffset(StateOffset)] public RunState* State;

    /// <summary>The input memory's first byte.</summary>
    [FieldOffset(InputStartOffset)] public ulong InputStart;

    // The limits and the helper arguments are separate fields rather than fixed buffers: a fixed buffer makes the JIT
    // guard the run method's frame with a stack cookie, checked on every run.

    /// <summary>For access size 1: (input length - size + 1), or 0 when the input is shorter than the size. An access of
    /// that size at <c>InputStart + d</c> is inside the input exactly when <c>d &lt; limit</c> (unsigned); the limits for
    /// sizes 2, 4 and 8 follow.</summary>
    [FieldOffset(InputLimitOffset)] public ulong InputLimit1;

    /// <summary>The input limit for 2-byte accesses (see <see cref="InputLimit1"/>).</summary>
    [FieldOffset(InputLimitOffset + 8)] public ulong InputLimit2;

    /// <summary>The input limit for 4-byte accesses (see <see cref="InputLimit1"/>).</summary>
    [FieldOffset(InputLimitOffset + 16)] public ulong InputLimit4;

    /// <summary>The input limit for 8-byte accesses (see <see cref="InputLimit1"/>).</summary>
    [FieldOffset(InputLimitOffset + 24)] public ulong InputLimit8;

    /// <summary>The metadata buffer's first byte.</summary>
    [FieldOffset(MetadataStartOffset)] public ulong MetadataStart;

    /// <summary>The metadata buffer's length.</summary>
    [FieldOffset(MetadataLengthOffset)] public ulong MetadataLength;

    /// <summary>The input memory's length.</summary>
    [FieldOffset(InputLengthOffset)] public ulong InputLength;

    /// <summary>One past the top of the stack area (the entry function's r10).</summary>
    [FieldOffset(StackEndOffset)] public ulong StackEnd;

    /// <summary>A local call is allowed only while r10 is at least this (stack start + two frames).</summary>
    [FieldOffset(CallLimitOffset)] public ulong CallLimit;

    /// <summary>Instructions the run may still execute.</summary>
    [FieldOffset(BudgetOffset)] public long Budget;

    /// <summary>The native stack pointer after the prologue: the exit stub returns to it from any depth.</summary>
    [FieldOffset(SavedRspOffset)] public ulong SavedRsp;

    /// <summary>A <see cref="RunStatus"/>.</summary>
    [FieldOffset(StatusOffset)] public int Status;

    /// <summary>What failed: for memory violations the packed site (pc &lt;&lt; 4 | log2(size) &lt;&lt; 1 | write); for
    /// budget and call-depth errors the pc.</summary>
    [FieldOffset(ErrorInfoOffset)] public int ErrorInfo;

    /// <summary>The address of a failed access.</summary>
    [FieldOffset(ErrorAddressOffset)] public ulong ErrorAddress;

    /// <summary>r10 of the function in which an access failed.</summary>
    [FieldOffset(ErrorFrameOffset)] public ulong ErrorFrame;

    /// <summary>A weak <see cref="GCHandle"/> of the compiled program (for the helper dispatcher).</summary>
    [FieldOffset(ProgramOffset)] public nint Program;

    /// <summary>r1 at a helper call.</summary>
    [FieldOffset(ArgsOffset)] public ulong Arg1;

    /// <summary>r2 at a helper call.</summary>
    [FieldOffset(ArgsOffset + 8)] public ulong Arg2;

    /// <summary>r3 at a helper call.</summary>
    [FieldOffset(ArgsOffset + 16)] public ulong Arg3;

    /// <summary>r4 at a helper call.</summary>
    [FieldOffset(ArgsOffset + 24)] public ulong Arg4;

    /// <summary>r5 at a helper call.</summary>
    [FieldOffset(ArgsOffset + 32)] public ulong Arg5;

    /// <summary>r10 of the function that calls a helper.</summary>
    [FieldOffset(CallFrameOffset)] public ulong CallFrame;

    /// <summary>The helper id of a <c>callx</c>.</summary>
    [FieldOffset(CallxIdOffset)] public ulong CallxId;

    /// <summary>The environment's regions.</summary>
    [FieldOffset(RegionsOffset)] public MemoryRegion* Regions;

    /// <summary>The number of regions.</summary>
    [FieldOffset(RegionCountOffset)] public int RegionCount;

    /// <summary>The initial r1.</summary>
    [FieldOffset(ContextAddressOffset)] public ulong ContextAddress;

    /// <summary>The initial r2.</summary>
    [FieldOffset(ContextLengthOffset)] public ulong ContextLength;

    /// <summary>r6 while the code is out for a helper call (see <see cref="CodeExit"/>).</summary>
    [FieldOffset(SavedRegistersOffset)] public ulong SavedR6;

    /// <summary>r7 while the code is out for a helper call.</summary>
    [FieldOffset(SavedRegistersOffset + 8)] public ulong SavedR7;

    /// <summary>r8 while the code is out for a helper call.</summary>
    [FieldOffset(SavedRegistersOffset + 16)] public ulong SavedR8;

    /// <summary>r9 while the code is out for a helper call.</summary>
    [FieldOffset(SavedRegistersOffset + 24)] public ulong SavedR9;

    /// <summary>The call site of an rbpf-style helper the code left for with its entry point
    /// (<see cref="CodeExit.IsHelperEntry"/>), which the host reads for an instance method's target and when the helper
    /// threw or the run was cancelled during the call.</summary>
    [FieldOffset(ExitSiteOffset)] public int ExitSite;

    /// <summary>In code with local calls whose helper calls return to the host: the local calls the code may still make
    /// before it yields (see <c>HelperReturnPlan.CallInterval</c>), set at its entry and after each such yield; a resume
    /// entry from a helper call leaves it as it is (see the x64 compiler's <c>EmitCallCount</c>).</summary>
    [FieldOffset(CallCountOffset)] public int CallCount;

    /// <summary>In code with local calls whose helper calls return to the host: the low end of the frames saved in the
    /// run's frame save area (<see cref="FrameSaveBytes"/> bytes in the run method's frame, never in memory the program
    /// can address; the area's end while none is saved). The saved frames are those of the outermost local calls, the
    /// outermost at the area's end: the code moves the native frames of its live local calls there when it leaves for the
    /// host, and a local function whose frame is there returns through it (see the x64 compiler's nested frames).</summary>
    [FieldOffset(FrameSaveOffset)] public byte* FrameSave;

    /// <summary>r0 while the code is out for a yield (site -1, see <see cref="CodeExit"/>): the host resumes with it as the
    /// result.</summary>
    [FieldOffset(HeldR0Offset)] public ulong HeldR0;

    /// <summary>In code that yields, while a guarded loop's counting copy runs: what the guard took off the yield count
    /// so that it runs out where the copy's count is spent (0 when the yield comes first), given back when the copy
    /// ends; see the x64 compiler's loop guards.</summary>
    [FieldOffset(GuardRestOffset)] public ulong GuardRest;

    /// <summary>The site index of a tail-call site that left for the host (see X64Compiler.TailCall.cs): the site of the
    /// program <see cref="Program"/> names, which a tail call's jump may have entered.</summary>
    [FieldOffset(TailSiteOffset)] public int TailSite;

    /// <summary>With frames saved (see <see cref="FrameSave"/>): r10 of the deepest function whose frame is saved; a
    /// local function whose r10 is at least this returns through the save area, and the resume entry of a leave from a
    /// local function (whose frame is then the deepest saved one) takes its r10 from here. <see cref="ulong.MaxValue"/> (or the
    /// stack end, which no local function's r10 reaches) while none is saved.</summary>
    [FieldOffset(FrameBoundaryOffset)] public ulong FrameBoundary;
}
