using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf.Elf;

/// <summary>
/// Builds one program's slots from an object: the selected function first, then every code section its local
/// calls reach (usually <c>.text</c>, where clang puts non-inlined functions), with call offsets recomputed and
/// the relocations applied: <c>R_BPF_64_64</c> on <c>lddw</c> becomes pseudo source 5 (map by index) for a map or
/// 6 (map value by index) for global data, 4 (code address) for a function (linked like a local call's target);
/// <c>R_BPF_64_32</c> on <c>call</c> links a local function, or names a
/// helper when the symbol is an undefined <c>bpf_*</c> helper.
/// </summary>
internal sealed class ElfLinker
{
    private readonly ElfFile file;
    private readonly IReadOnlyList<ElfMap> maps;
    private readonly Dictionary<int, Dictionary<ulong, ElfRelocation>> relocationsBySection = [];
    private readonly List<Piece> pieces = [];
    private readonly List<(ElfSection Section, ulong Offset)> origins = [];
    private readonly Dictionary<int, string> symbols = [];

    private ElfLinker(ElfFile file, IReadOnlyList<ElfMap> maps)
    {
        this.file = file;
        this.maps = maps;
    }

    /// <summary>Links the function at <paramref name="offset"/> of <paramref name="section"/>: its slots, where each came from, and the names its relocations refer to.</summary>
    public static ElfLinkedCode Link(ElfFile file, IReadOnlyList<ElfMap> maps, ElfSection section, ulong offset, ulong size)
    {
        var linker = new ElfLinker(file, maps);
        var code = linker.Run(section, offset, size);
        return new ElfLinkedCode(code, [.. linker.origins], linker.symbols);
    }

    private Instruction[] Run(ElfSection section, ulong offset, ulong size)
    {
        CheckCodeSection(section, section.Describe());
        if (offset % 8 != 0 || size % 8 != 0 || size == 0 || offset > section.Size || section.Size - offset < size)
        {
            throw new EbpfElfException($"{section.Describe()}, offset 0x{offset:x}", $"the function ({size} bytes) does not lie on instruction boundaries inside the section ({section.Size} bytes)");
        }

        pieces.Add(new Piece(section, (int)(offset / 8), (int)(size / 8), 0));
        var output = new List<Instruction>();
        var calls = new List<(int Pc, ElfSection Section, long Slot, string Where)>();
        for (int p = 0; p < pieces.Count; p++)
        {
            var piece = pieces[p];
            var relocations = RelocationsOf(piece.Section);
            var code = Instruction.DecodeAll(piece.Section.Data.AsSpan(piece.Start * 8, piece.Count * 8));
            for (int j = 0; j < code.Length; j++)
            {
                var insn = code[j];
                int pc = output.Count;
                ulong byteOffset = (ulong)(piece.Start + j) * 8;
                string where = $"{piece.Section.Describe()}, offset 0x{byteOffset:x}";
                bool relocated = relocations.TryGetValue(byteOffset, out var relocation) && relocation.Type != ElfRelocation.None;
                if (relocated && relocation.Type == ElfRelocation.Bpf64_64)
                {
                    if (insn.OpCode != OpCodes.Lddw || j + 1 >= code.Length)
                    {
                        throw new EbpfElfException(relocation.Where, $"R_BPF_64_64 applies to '{insn}', not to a complete lddw");
                    }

                    if (file.SectionOf(relocation.Symbol, relocation.Where) is { IsCode: true } codeSection)
                    {
                        // The address of a function (a callback for bpf_loop...): lddw src=4, its distance fixed below.
                        long slot = FunctionSlot(relocation, insn);
                        AddPieceFor(codeSection, slot, where);
                        calls.Add((pc, codeSection, slot, where));
                        symbols[pc] = TargetName(relocation.Symbol, (uint)insn.Imm);
                        Add(output, new Instruction(OpCodes.Lddw, insn.Dst, (byte)LddwSource.CodeAddress, 0, 0), piece.Section, byteOffset);
                        Add(output, new Instruction(0, 0, 0, 0, 0), piece.Section, byteOffset + 8);
                        j++;
                        continue;
                    }

                    var (first, second) = RelocateLddw(insn, code[j + 1], relocation);
                    symbols[pc] = first.Src == (byte)LddwSource.MapByIndex ? maps[first.Imm].Name : TargetName(relocation.Symbol, (uint)insn.Imm);
                    Add(output, first, piece.Section, byteOffset);
                    Add(output, second, piece.Section, byteOffset + 8);
                    j++;
                    continue;
                }

                if (relocated && relocation.Type != ElfRelocation.Bpf64_32)
                {
                    throw new EbpfElfException(relocation.Where, $"relocation type {relocation.Type} is not supported in code (only R_BPF_64_64 on lddw and R_BPF_64_32 on call)");
                }

                if (relocated && insn.OpCode != OpCodes.Call)
                {
                    throw new EbpfElfException(relocation.Where, $"R_BPF_64_32 applies to '{insn}', not to a call");
                }

                if (relocated && relocation.Symbol.IsUndefined)
                {
                    symbols[pc] = relocation.Symbol.Name;
                    Add(output, HelperCall(relocation), piece.Section, byteOffset);
                    continue;
                }

                if (insn.OpCode == OpCodes.Call && insn.Src == 1)
                {
                    var (targetSection, slot) = relocated
                        ? CallTarget(relocation, insn)
                        : (piece.Section, (long)piece.Start + j + 1 + insn.Imm);
                    AddPieceFor(targetSection, slot, where);
                    calls.Add((pc, targetSection, slot, where));
                    if (relocated)
                    {
                        symbols[pc] = TargetName(relocation.Symbol, 0);
                    }
                }

                Add(output, insn, piece.Section, byteOffset);
                if (insn.OpCode == OpCodes.Lddw && j + 1 < code.Length)
                {
                    Add(output, code[++j], piece.Section, byteOffset + 8);
                }
            }
        }

        foreach (var (pc, targetSection, slot, where) in calls)
        {
            var piece = pieces.First(p => p.Contains(targetSection, slot));
            long target = piece.NewStart + (slot - piece.Start);
            output[pc] = output[pc].WithImm((int)(target - (pc + 1)));
        }

        if (output.Count > EbpfProgram.MaxSlots)
        {
            throw new EbpfElfException(section.Describe(), $"the linked program has {output.Count} slots, more than {EbpfProgram.MaxSlots}");
        }

        return [.. output];
    }

    private void Add(List<Instruction> output, Instruction insn, ElfSection section, ulong byteOffset)
    {
        output.Add(insn);
        origins.Add((section, byteOffset));
    }

    /// <summary>
    /// The name a relocation refers to: the symbol's name, or for a section symbol (clang's choice for static data)
    /// the section's name, with <c> + 0x..</c> when the instruction adds an offset.
    /// </summary>
    private string TargetName(ElfSymbol symbol, uint addend)
    {
        string name = symbol.Type == ElfSymbol.TypeSection || symbol.Name.Length == 0
            ? (symbol.SectionIndex > 0 && symbol.SectionIndex < file.Sections.Count ? file.Sections[symbol.SectionIndex].Name : symbol.Describe())
            : symbol.Name;
        return addend == 0 ? name : $"{name} + 0x{addend:x}";
    }

    private (ElfSection Section, long Slot) CallTarget(ElfRelocation relocation, Instruction insn)
    {
        var symbol = relocation.Symbol;
        var section = file.SectionOf(symbol, relocation.Where);
        if (!section.IsCode)
        {
            throw new EbpfElfException(relocation.Where, $"the call target {symbol.Describe()} is in {section.Describe()}, which holds no code");
        }

        if (symbol.Value % 8 != 0)
        {
            throw new EbpfElfException(relocation.Where, $"the call target {symbol.Describe()} is at 0x{symbol.Value:x}, not on an instruction boundary");
        }

        return (section, (long)(symbol.Value / 8) + insn.Imm + 1);
    }

    /// <summary>The slot of the function whose address an <c>lddw</c> loads: the symbol plus the byte offset clang leaves in the immediate.</summary>
    private static long FunctionSlot(ElfRelocation relocation, Instruction insn)
    {
        ulong at = relocation.Symbol.Value + (uint)insn.Imm;
        if (at % 8 != 0)
        {
            throw new EbpfElfException(relocation.Where, $"the function address {relocation.Symbol.Describe()} + {(uint)insn.Imm} is not on an instruction boundary");
        }

        return (long)(at / 8);
    }

    private static Instruction HelperCall(ElfRelocation relocation)
    {
        if (!LinuxHelperIds.ByName.TryGetValue(relocation.Symbol.Name, out uint id))
        {
            throw new EbpfElfException(relocation.Where, $"call to {relocation.Symbol.Describe()}, which is neither defined in this object nor a known helper");
        }

        return new Instruction(OpCodes.Call, 0, 0, 0, (int)id);
    }

    private void AddPieceFor(ElfSection section, long slot, string where)
    {
        CheckCodeSection(section, where);
        if (slot < 0 || slot >= (long)(section.Size / 8))
        {
            throw new EbpfElfException(where, $"the local call targets slot {slot} of {section.Describe()}, outside its {section.Size / 8} slots");
        }

        if (pieces.Any(p => p.Contains(section, slot)))
        {
            return;
        }

        var last = pieces[^1];
        pieces.Add(new Piece(section, 0, (int)(section.Size / 8), last.NewStart + last.Count));
    }

    private (Instruction First, Instruction Second) RelocateLddw(Instruction first, Instruction second, ElfRelocation relocation)
    {
        var symbol = relocation.Symbol;
        var section = file.SectionOf(symbol, relocation.Where);
        ulong offset = symbol.Value + (uint)first.Imm;
        for (int index = 0; index < maps.Count; index++)
        {
            var map = maps[index];
            if (map.SectionIndex != section.Index)
            {
                continue;
            }

            if (map.IsGlobalData)
            {
                if (offset >= map.Size)
                {
                    throw new EbpfElfException(relocation.Where, $"offset {offset} of {symbol.Describe()} is outside {section.Describe()} ({map.Size} bytes)");
                }

                return (new Instruction(OpCodes.Lddw, first.Dst, (byte)LddwSource.MapValueByIndex, 0, index), new Instruction(0, 0, 0, 0, (int)offset));
            }

            if (offset >= map.Offset && offset - map.Offset < Math.Max(map.Size, 1))
            {
                return (new Instruction(OpCodes.Lddw, first.Dst, (byte)LddwSource.MapByIndex, 0, index), new Instruction(0, 0, 0, 0, 0));
            }
        }

        throw new EbpfElfException(relocation.Where, $"lddw refers to {symbol.Describe()} at offset {offset} of {section.Describe()}, which is neither a map nor global data");
    }

    private Dictionary<ulong, ElfRelocation> RelocationsOf(ElfSection section)
    {
        if (!relocationsBySection.TryGetValue(section.Index, out var byOffset))
        {
            byOffset = [];
            foreach (var relocation in file.RelocationsFor(section))
            {
                if (relocation.Offset % 8 != 0 || relocation.Offset >= section.Size)
                {
                    throw new EbpfElfException(relocation.Where, $"the offset is not the start of an instruction of {section.Describe()} ({section.Size} bytes)");
                }

                if (!byOffset.TryAdd(relocation.Offset, relocation))
                {
                    throw new EbpfElfException(relocation.Where, "a second relocation applies to the same instruction");
                }
            }

            relocationsBySection[section.Index] = byOffset;
        }

        return byOffset;
    }

    private static void CheckCodeSection(ElfSection section, string where)
    {
        if (!section.IsCode)
        {
            throw new EbpfElfException(where, $"{section.Describe()} holds no code");
        }

        if (section.Size % 8 != 0)
        {
            throw new EbpfElfException(section.Describe(), $"size {section.Size} is not a multiple of the 8-byte instruction");
        }
    }

    private sealed record Piece(ElfSection Section, int Start, int Count, int NewStart)
    {
        public bool Contains(ElfSection section, long slot) => section.Index == Section.Index && slot >= Start && slot < Start + Count;
    }
}
