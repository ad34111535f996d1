using System.Collections.Frozen;
using System.Globalization;
using Ebpf.Isa;

namespace Ebpf.Assembly;

/// <summary>Every mnemonic the assembler reads (both dialects), built from <see cref="Mnemonics"/> and the opcode layout.</summary>
internal static class MnemonicTable
{
    /// <summary>Mnemonic (lower case) to instruction form.</summary>
    public static readonly FrozenDictionary<string, InstructionForm> Forms = BuildForms();

    /// <summary>Atomic operation name after <c>lock</c> (without width suffix) to its immediate, without and with <c>fetch</c>.</summary>
    public static readonly FrozenDictionary<string, (AtomicOperation Plain, AtomicOperation Fetch)> AtomicOperations = BuildAtomics();

    /// <summary><c>lddw</c> pseudo-source keywords.</summary>
    public static readonly FrozenDictionary<string, LddwSource> LddwSources =
        Enum.GetValues<LddwSource>()
            .Where(s => Mnemonics.LddwSourceKeyword(s) is not null)
            .ToFrozenDictionary(s => Mnemonics.LddwSourceKeyword(s)!, s => s, StringComparer.Ordinal);

    private static FrozenDictionary<string, InstructionForm> BuildForms()
    {
        var forms = new Dictionary<string, InstructionForm>(StringComparer.Ordinal);
        void Add(string name, InstructionForm form) => forms.Add(name, form);

        // ALU: "add" and "add64" are 64-bit, "add32" is 32-bit (both dialects agree).
        foreach (var op in Enum.GetValues<AluOperation>())
        {
            foreach (bool signed in new[] { false, true })
            {
                string? name = Mnemonics.Alu(op, signed);
                if (name is null)
                {
                    continue;
                }

                short offset = (short)(signed ? 1 : 0);
                var shape = op == AluOperation.Neg ? OperandShape.Dst : OperandShape.DstSource;
                var alu64 = new InstructionForm((byte)((byte)InstructionClass.Alu64 | (byte)op), shape, offset);
                Add(name, alu64);
                Add(name + "64", alu64);
                Add(name + "32", alu64 with { OpCode = (byte)((byte)InstructionClass.Alu | (byte)op) });
            }
        }

        foreach (int bits in new[] { 16, 32, 64 })
        {
            string w = bits.ToString(CultureInfo.InvariantCulture);
            Add("le" + w, new InstructionForm(OpCodes.Le, OperandShape.Dst, Imm: bits));
            Add("be" + w, new InstructionForm(OpCodes.Be, OperandShape.Dst, Imm: bits));
            Add("bswap" + w, new InstructionForm(OpCodes.Bswap, OperandShape.Dst, Imm: bits));
            Add("swap" + w, new InstructionForm(OpCodes.Bswap, OperandShape.Dst, Imm: bits));
        }

        foreach (var (from, cls) in new[] { (8, InstructionClass.Alu), (16, InstructionClass.Alu), (8, InstructionClass.Alu64), (16, InstructionClass.Alu64), (32, InstructionClass.Alu64) })
        {
            string name = "movsx" + from.ToString(CultureInfo.InvariantCulture) + (cls == InstructionClass.Alu ? "32" : "64");
            Add(name, new InstructionForm((byte)((byte)cls | (byte)AluOperation.Mov | (byte)OperandSource.Register), OperandShape.DstSrc, (short)from));
        }

        foreach (var op in Enum.GetValues<JumpOperation>())
        {
            string? name = Mnemonics.Jump(op);
            if (name is null)
            {
                continue;
            }

            var jmp = new InstructionForm((byte)((byte)InstructionClass.Jmp | (byte)op), OperandShape.ConditionalJump);
            Add(name, jmp);
            Add(name + "64", jmp);
            Add(name + "32", jmp with { OpCode = (byte)((byte)InstructionClass.Jmp32 | (byte)op) });
        }

        Add("ja", new InstructionForm(OpCodes.Ja, OperandShape.Jump16));
        Add("ja32", new InstructionForm(OpCodes.Ja32, OperandShape.Jump32));
        Add("gotol", new InstructionForm(OpCodes.Ja32, OperandShape.Jump32));
        Add("call", new InstructionForm(OpCodes.Call, OperandShape.Call));
        Add("callx", new InstructionForm(OpCodes.CallX, OperandShape.CallX));
        Add("exit", new InstructionForm(OpCodes.Exit, OperandShape.None));
        Add("lddw", new InstructionForm(OpCodes.Lddw, OperandShape.Lddw));

        foreach (var size in Enum.GetValues<AccessSize>())
        {
            string s = Mnemonics.Size(size);
            byte z = (byte)size;
            Add("ldx" + s, new InstructionForm((byte)((byte)InstructionClass.Ldx | (byte)AccessMode.Memory | z), OperandShape.Load));
            Add("st" + s, new InstructionForm((byte)((byte)InstructionClass.St | (byte)AccessMode.Memory | z), OperandShape.StoreImmediate));
            Add("stx" + s, new InstructionForm((byte)((byte)InstructionClass.Stx | (byte)AccessMode.Memory | z), OperandShape.StoreRegister));
            Add("ldabs" + s, new InstructionForm((byte)((byte)InstructionClass.Ld | (byte)AccessMode.Absolute | z), OperandShape.Absolute));
            Add("ldind" + s, new InstructionForm((byte)((byte)InstructionClass.Ld | (byte)AccessMode.Indirect | z), OperandShape.Indirect));
            if (size != AccessSize.DoubleWord)
            {
                Add("ldxs" + s, new InstructionForm((byte)((byte)InstructionClass.Ldx | (byte)AccessMode.MemorySignExtend | z), OperandShape.Load));
            }
        }

        // rbpf's legacy names for atomic add.
        Add("stxxaddw", new InstructionForm(OpCodes.AtomicW, OperandShape.StoreRegister, Imm: (int)AtomicOperation.Add));
        Add("stxxadddw", new InstructionForm(OpCodes.AtomicDW, OperandShape.StoreRegister, Imm: (int)AtomicOperation.Add));
        Add(InstructionFormatter.SlotDirective, new InstructionForm(0, OperandShape.Slot));
        return forms.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static FrozenDictionary<string, (AtomicOperation, AtomicOperation)> BuildAtomics()
    {
        const string fetch = "fetch ";
        var result = new Dictionary<string, (AtomicOperation, AtomicOperation)>(StringComparer.Ordinal);
        foreach (var op in Enum.GetValues<AtomicOperation>())
        {
            string name = Mnemonics.Atomic(op)!;
            if (!name.StartsWith(fetch, StringComparison.Ordinal))
            {
                // xchg and cmpxchg always fetch: the same with or without the keyword.
                result[name] = (op, op);
            }
        }

        foreach (var op in Enum.GetValues<AtomicOperation>())
        {
            string name = Mnemonics.Atomic(op)!;
            if (name.StartsWith(fetch, StringComparison.Ordinal))
            {
                string plain = name[fetch.Length..];
                result[plain] = (result[plain].Item1, op);
            }
        }

        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
