using Ebpf.Helpers;

namespace Ebpf.Il.Compiler;

/// <summary>
/// A map lookup helper call on a known array map, compiled inline (see <see cref="ArrayLookup"/>): the key is read
/// through <see cref="Runtime.IlRuntime.LookupKey"/> (the helper's argument check, then the u32), then r0 =
/// <c>key &lt; live entries ? values + key * stride : 0</c> (the bound read from the map's live entry count, 0 once the
/// map is disposed).
/// </summary>
internal static class LookupEmitter
{
    public static void Emit(FunctionCompiler f, int pc, ArrayLookup lookup)
    {
        var il = f.Il;
        PushKeyArguments(f, pc);
        il.Call(RuntimeMembers.LookupKey);
        il.Stloc(f.Address);
        var found = il.DefineLabel("LOOKUP_FOUND");
        var done = il.DefineLabel("LOOKUP_DONE");
        il.Ldloc(f.Address);
        il.LdcU8(lookup.EntriesAddress);
        il.ConvU();
        il.LdindUnaligned(8, signed: false);
        il.BltUn(found);
        il.LdcI8(0);
        il.Br(done);
        il.MarkLabel(found);
        il.Ldloc(f.Address);
        il.LdcU8(lookup.ValueStride);
        il.Mul();
        il.LdcU8(lookup.ValueAddress);
        il.Add();
        il.MarkLabel(done);
        f.Store(0);
    }

    /// <summary>
    /// Pushes what a key check of the lookup helper call at <paramref name="pc"/> takes first: the closure, the run
    /// state, the pc, the stack's low end and the key pointer (r2).
    /// </summary>
    public static void PushKeyArguments(FunctionCompiler f, int pc)
    {
        f.Il.Ldarg(FunctionCompiler.ArgClosure);
        f.Il.Ldarg(FunctionCompiler.ArgState);
        f.Il.LdcI4(pc);
        f.PushStackLow();
        f.Load(2);
    }
}
