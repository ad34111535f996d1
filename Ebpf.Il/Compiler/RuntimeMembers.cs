using System.Buffers.Binary;
using System.Reflection;
using Ebpf.Execution;
using Ebpf.Il.Runtime;

namespace Ebpf.Il.Compiler;

/// <summary>The reflection handles the generated code uses, looked up once.</summary>
internal static class RuntimeMembers
{
    public static readonly FieldInfo[] FrameRegisters =
        Enumerable.Range(0, 11).Select(i => Field(typeof(CallFrame), "R" + i)).ToArray();

    public static readonly FieldInfo StateInputAddress = Field(typeof(RunState), nameof(RunState.InputAddress));
    public static readonly FieldInfo StateInputLength = Field(typeof(RunState), nameof(RunState.InputLength));
    public static readonly FieldInfo StateContextAddress = Field(typeof(RunState), nameof(RunState.ContextAddress));
    public static readonly FieldInfo StateContextLength = Field(typeof(RunState), nameof(RunState.ContextLength));
    public static readonly FieldInfo StateStackEnd = Field(typeof(RunState), nameof(RunState.StackEnd));
    public static readonly FieldInfo StateBudgetRemaining = Field(typeof(RunState), nameof(RunState.BudgetRemaining));
    public static readonly FieldInfo StateCancelRequested = Field(typeof(RunState), nameof(RunState.CancelRequested));
    public static readonly FieldInfo StateStopRequested = Field(typeof(RunState), nameof(RunState.StopRequested));
    public static readonly FieldInfo StateStopValue = Field(typeof(RunState), nameof(RunState.StopValue));

    public static readonly FieldInfo StateMetadataAddress = Field(typeof(RunState), nameof(RunState.MetadataAddress));
    public static readonly FieldInfo StateMetadataLength = Field(typeof(RunState), nameof(RunState.MetadataLength));
    public static readonly FieldInfo StateRegionCount = Field(typeof(RunState), nameof(RunState.RegionCount));

    public static readonly FieldInfo StateRegions = Field(typeof(RunState), nameof(RunState.Regions));
    public static readonly FieldInfo StateHelperPc = Field(typeof(RunState), nameof(RunState.HelperPc));
    public static readonly FieldInfo ClosureSimpleHelpers = Field(typeof(IlClosure), nameof(IlClosure.SimpleHelpers));
    public static readonly FieldInfo ClosureHelperTargets = Field(typeof(IlClosure), nameof(IlClosure.HelperTargets));
    public static readonly MethodInfo SimpleHelperInvoke = typeof(Ebpf.Helpers.HelperFunction).GetMethod(nameof(Ebpf.Helpers.HelperFunction.Invoke))!;

    public static readonly MethodInfo Violation = Method(typeof(IlRuntime), nameof(IlRuntime.Violation));
    public static readonly MethodInfo DirectViolation = Method(typeof(IlRuntime), nameof(IlRuntime.DirectViolation));
    public static readonly MethodInfo RestartDirect = Method(typeof(IlRuntime), nameof(IlRuntime.RestartDirect));
    public static readonly MethodInfo BudgetExceeded = Method(typeof(IlRuntime), nameof(IlRuntime.BudgetExceeded));
    public static readonly MethodInfo Cancelled = Method(typeof(IlRuntime), nameof(IlRuntime.Cancelled));
    public static readonly MethodInfo CallDepthExceeded = Method(typeof(IlRuntime), nameof(IlRuntime.CallDepthExceeded));
    public static readonly MethodInfo CallHelper = Method(typeof(IlRuntime), nameof(IlRuntime.CallHelper));
    public static readonly MethodInfo LookupKey = Method(typeof(IlRuntime), nameof(IlRuntime.LookupKey));
    public static readonly MethodInfo DirectLookup = Method(typeof(IlRuntime), nameof(IlRuntime.DirectLookup));
    public static readonly MethodInfo CheckLookupKey = Method(typeof(IlRuntime), nameof(IlRuntime.CheckLookupKey));
    public static readonly MethodInfo HashWalk = Method(typeof(Ebpf.Helpers.HashLookupLayout), nameof(Ebpf.Helpers.HashLookupLayout.Walk));
    public static readonly MethodInfo CallX = Method(typeof(IlRuntime), nameof(IlRuntime.CallX));
    public static readonly MethodInfo RunChunked = Method(typeof(IlRuntime), nameof(IlRuntime.RunChunked));
    public static readonly MethodInfo Limit = Method(typeof(MemoryGuard), nameof(MemoryGuard.Limit));

    public static readonly MethodInfo ReverseUInt16 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(ushort)])!;
    public static readonly MethodInfo ReverseUInt32 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(uint)])!;
    public static readonly MethodInfo ReverseUInt64 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(ulong)])!;

    public static readonly MethodInfo AtomicAdd64 = Method(typeof(AtomicMemory), nameof(AtomicMemory.Add64));
    public static readonly MethodInfo AtomicOr64 = Method(typeof(AtomicMemory), nameof(AtomicMemory.Or64));
    public static readonly MethodInfo AtomicAnd64 = Method(typeof(AtomicMemory), nameof(AtomicMemory.And64));
    public static readonly MethodInfo AtomicXor64 = Method(typeof(AtomicMemory), nameof(AtomicMemory.Xor64));
    public static readonly MethodInfo AtomicExchange64 = Method(typeof(AtomicMemory), nameof(AtomicMemory.Exchange64));
    public static readonly MethodInfo AtomicCompareExchange64 = Method(typeof(AtomicMemory), nameof(AtomicMemory.CompareExchange64));
    public static readonly MethodInfo AtomicAdd32 = Method(typeof(AtomicMemory), nameof(AtomicMemory.Add32));
    public static readonly MethodInfo AtomicOr32 = Method(typeof(AtomicMemory), nameof(AtomicMemory.Or32));
    public static readonly MethodInfo AtomicAnd32 = Method(typeof(AtomicMemory), nameof(AtomicMemory.And32));
    public static readonly MethodInfo AtomicXor32 = Method(typeof(AtomicMemory), nameof(AtomicMemory.Xor32));
    public static readonly MethodInfo AtomicExchange32 = Method(typeof(AtomicMemory), nameof(AtomicMemory.Exchange32));
    public static readonly MethodInfo AtomicCompareExchange32 = Method(typeof(AtomicMemory), nameof(AtomicMemory.CompareExchange32));

    private static FieldInfo Field(Type type, string name) =>
        type.GetField(name, BindingFlags.Public | BindingFlags.Instance) ?? throw new MissingFieldException(type.Name, name);

    private static MethodInfo Method(Type type, string name) =>
        type.GetMethod(name, BindingFlags.Public | BindingFlags.Static) ?? throw new MissingMethodException(type.Name, name);
}
