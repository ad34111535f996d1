using System.Globalization;
using System.Reflection;
using System.Reflection.Emit;
using System.Text;

namespace Ebpf.Il.Emit;

/// <summary>
/// Thin one-line macros over <see cref="ILGenerator"/> (in the manner of RegexCompiler): every instruction the compiler
/// emits goes through here, picks the compact encoding, and, when a listing is requested, is recorded as text with
/// the names of its locals and labels.
/// </summary>
internal sealed class IlEmitter
{
    private readonly ILGenerator il;
    private readonly StringBuilder? listing;
    private readonly Dictionary<int, string> localNames = new();
    private readonly Dictionary<Label, string> labelNames = new();

    public IlEmitter(ILGenerator il, StringBuilder? listing)
    {
        this.il = il;
        this.listing = listing;
    }

    /// <summary>True when the emitted code is being recorded.</summary>
    public bool Recording => listing is not null;

    public LocalBuilder DeclareLocal(Type type, string name)
    {
        var local = il.DeclareLocal(type);
        if (listing is not null)
        {
            localNames[local.LocalIndex] = name;
            listing.Append(CultureInfo.InvariantCulture, $"  .local {name} : {type.Name}\n");
        }

        return local;
    }

    public Label DefineLabel(string name)
    {
        var label = il.DefineLabel();
        if (listing is not null)
        {
            labelNames[label] = name;
        }

        return label;
    }

    public void MarkLabel(Label label)
    {
        il.MarkLabel(label);
        listing?.Append(labelNames.GetValueOrDefault(label, "?")).Append(":\n");
    }

    public void Comment(string text) => listing?.Append("  // ").Append(text).Append('\n');

    public void Ldarg(int index)
    {
        switch (index)
        {
            case 0: Op(OpCodes.Ldarg_0); break;
            case 1: Op(OpCodes.Ldarg_1); break;
            case 2: Op(OpCodes.Ldarg_2); break;
            case 3: Op(OpCodes.Ldarg_3); break;
            default: il.Emit(OpCodes.Ldarg_S, (byte)index); Record("ldarg.s", index.ToString(CultureInfo.InvariantCulture)); break;
        }
    }

    public void Ldloc(LocalBuilder local) => Op(OpCodes.Ldloc, local);

    public void Stloc(LocalBuilder local) => Op(OpCodes.Stloc, local);

    public void Ldloca(LocalBuilder local) => Op(OpCodes.Ldloca, local);

    /// <summary>Pushes an int32 constant in its shortest encoding.</summary>
    public void LdcI4(int value)
    {
        switch (value)
        {
            case -1: Op(OpCodes.Ldc_I4_M1); return;
            case 0: Op(OpCodes.Ldc_I4_0); return;
            case 1: Op(OpCodes.Ldc_I4_1); return;
            case 2: Op(OpCodes.Ldc_I4_2); return;
            case 3: Op(OpCodes.Ldc_I4_3); return;
            case 4: Op(OpCodes.Ldc_I4_4); return;
            case 5: Op(OpCodes.Ldc_I4_5); return;
            case 6: Op(OpCodes.Ldc_I4_6); return;
            case 7: Op(OpCodes.Ldc_I4_7); return;
            case 8: Op(OpCodes.Ldc_I4_8); return;
        }

        if (value is >= sbyte.MinValue and <= sbyte.MaxValue)
        {
            il.Emit(OpCodes.Ldc_I4_S, (sbyte)value);
        }
        else
        {
            il.Emit(OpCodes.Ldc_I4, value);
        }

        Record("ldc.i4", value.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Pushes an int64 constant: as a sign-extended int32 when it fits (smaller IL), else as ldc.i8.</summary>
    public void LdcI8(long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            LdcI4((int)value);
            ConvI8();
            return;
        }

        il.Emit(OpCodes.Ldc_I8, value);
        Record("ldc.i8", "0x" + value.ToString("x", CultureInfo.InvariantCulture));
    }

    /// <summary>Pushes an unsigned 64-bit constant.</summary>
    public void LdcU8(ulong value) => LdcI8((long)value);

    public void Add() => Op(OpCodes.Add);

    public void Sub() => Op(OpCodes.Sub);

    public void Mul() => Op(OpCodes.Mul);

    public void Div() => Op(OpCodes.Div);

    public void DivUn() => Op(OpCodes.Div_Un);

    public void Rem() => Op(OpCodes.Rem);

    public void RemUn() => Op(OpCodes.Rem_Un);

    public void And() => Op(OpCodes.And);

    public void Or() => Op(OpCodes.Or);

    public void Xor() => Op(OpCodes.Xor);

    public void Shl() => Op(OpCodes.Shl);

    public void Shr() => Op(OpCodes.Shr);

    public void ShrUn() => Op(OpCodes.Shr_Un);

    public void Neg() => Op(OpCodes.Neg);

    public void ConvI1() => Op(OpCodes.Conv_I1);

    public void ConvI2() => Op(OpCodes.Conv_I2);

    public void ConvI4() => Op(OpCodes.Conv_I4);

    public void ConvI8() => Op(OpCodes.Conv_I8);

    public void ConvI() => Op(OpCodes.Conv_I);

    public void ConvU2() => Op(OpCodes.Conv_U2);

    public void ConvU4() => Op(OpCodes.Conv_U4);

    public void ConvU8() => Op(OpCodes.Conv_U8);

    public void ConvU() => Op(OpCodes.Conv_U);

    /// <summary><c>localloc</c>: allocates the pushed number of bytes on the method's frame (zeroed when the method initialises its locals, as dynamic methods do) and pushes their address.</summary>
    public void Localloc() => Op(OpCodes.Localloc);

    public void Dup() => Op(OpCodes.Dup);

    public void Pop() => Op(OpCodes.Pop);

    public void Ret() => Op(OpCodes.Ret);

    public void Throw() => Op(OpCodes.Throw);

    /// <summary>The <c>volatile.</c> prefix: the next load is neither cached nor hoisted out of a loop.</summary>
    public void Volatile() => Op(OpCodes.Volatile);

    public void Call(MethodInfo method) => Op(OpCodes.Call, method);

    public void Callvirt(MethodInfo method) => Op(OpCodes.Callvirt, method);

    public void LdelemRef() => Op(OpCodes.Ldelem_Ref);

    public void Ldfld(FieldInfo field) => Op(OpCodes.Ldfld, field);

    public void Stfld(FieldInfo field) => Op(OpCodes.Stfld, field);

    /// <summary>Loads a value of <paramref name="size"/> bytes from the address on the stack, unaligned, little-endian
    /// as the host: zero-extended (or sign-extended when <paramref name="signed"/>) to an int32, or an int64 for 8.</summary>
    public void LdindUnaligned(int size, bool signed)
    {
        Unaligned();
        Op(size switch
        {
            1 => signed ? OpCodes.Ldind_I1 : OpCodes.Ldind_U1,
            2 => signed ? OpCodes.Ldind_I2 : OpCodes.Ldind_U2,
            4 => signed ? OpCodes.Ldind_I4 : OpCodes.Ldind_U4,
            _ => OpCodes.Ldind_I8,
        });
    }

    /// <summary>Stores the low <paramref name="size"/> bytes of the value on the stack at the address below it, unaligned.</summary>
    public void StindUnaligned(int size)
    {
        Unaligned();
        Op(size switch
        {
            1 => OpCodes.Stind_I1,
            2 => OpCodes.Stind_I2,
            4 => OpCodes.Stind_I4,
            _ => OpCodes.Stind_I8,
        });
    }

    public void Br(Label target) => Op(OpCodes.Br, target);

    public void Brtrue(Label target) => Op(OpCodes.Brtrue, target);

    public void Brfalse(Label target) => Op(OpCodes.Brfalse, target);

    public void Beq(Label target) => Op(OpCodes.Beq, target);

    public void BneUn(Label target) => Op(OpCodes.Bne_Un, target);

    public void Bgt(Label target) => Op(OpCodes.Bgt, target);

    public void BgtUn(Label target) => Op(OpCodes.Bgt_Un, target);

    public void Bge(Label target) => Op(OpCodes.Bge, target);

    public void BgeUn(Label target) => Op(OpCodes.Bge_Un, target);

    public void Blt(Label target) => Op(OpCodes.Blt, target);

    public void BltUn(Label target) => Op(OpCodes.Blt_Un, target);

    public void Ble(Label target) => Op(OpCodes.Ble, target);

    public void BleUn(Label target) => Op(OpCodes.Ble_Un, target);

    /// <summary>Branches to the target the int32 on the stack indexes; falls through when it is out of range.</summary>
    public void Switch(Label[] targets)
    {
        il.Emit(OpCodes.Switch, targets);
        Record(OpCodes.Switch.Name!, "(" + string.Join(", ", targets.Select(t => labelNames.GetValueOrDefault(t, "?"))) + ")");
    }

    private void Unaligned()
    {
        il.Emit(OpCodes.Unaligned, (byte)1);
        Record("unaligned.", "1");
    }

    private void Op(OpCode op)
    {
        il.Emit(op);
        Record(op.Name!, null);
    }

    private void Op(OpCode op, LocalBuilder local)
    {
        il.Emit(op, local);
        Record(op.Name!, localNames.GetValueOrDefault(local.LocalIndex, "V_" + local.LocalIndex.ToString(CultureInfo.InvariantCulture)));
    }

    private void Op(OpCode op, Label label)
    {
        il.Emit(op, label);
        Record(op.Name!, labelNames.GetValueOrDefault(label, "?"));
    }

    private void Op(OpCode op, MethodInfo method)
    {
        il.Emit(op, method);
        Record(op.Name!, method.DeclaringType is { } t ? $"{t.Name}::{method.Name}" : method.Name);
    }

    private void Op(OpCode op, FieldInfo field)
    {
        il.Emit(op, field);
        Record(op.Name!, $"{field.DeclaringType?.Name}::{field.Name}");
    }

    private void Record(string op, string? operand)
    {
        if (listing is null)
        {
            return;
        }

        listing.Append("    ").Append(op);
        if (operand is not null)
        {
            listing.Append(' ').Append(operand);
        }

        listing.Append('\n');
    }
}
