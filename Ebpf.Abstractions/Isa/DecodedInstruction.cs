namespace Ebpf.Isa;

/// <summary>
/// One instruction as every consumer reads it: the <see cref="Isa.Operation"/> and its operands, decoded once by
/// <see cref="InstructionDecoder"/> (and held by <see cref="EbpfProgram.Decoded"/>, one per slot). Only defined
/// encodings decode; fields an operation does not use are listed in <see cref="UnusedFields"/> (the policy verifier
/// requires them to be 0, the engines ignore them).
/// </summary>
public readonly struct DecodedInstruction
{
    internal DecodedInstruction(
        Operation operation,
        Instruction raw,
        bool is64,
        OperandSource source,
        bool isSigned,
        int accessSize,
        int writeBackRegister,
        int target,
        ulong value,
        InstructionFields unusedFields)
    {
        Operation = operation;
        Raw = raw;
        Is64 = is64;
        Source = source;
        IsSigned = isSigned;
        AccessSize = accessSize;
        WriteBackRegister = writeBackRegister;
        Target = target;
        Value = value;
        UnusedFields = unusedFields;
    }

    /// <summary>The operation; <see cref="Operation.None"/> for the second slot of an <c>lddw</c>.</summary>
    public Operation Operation { get; }

    /// <summary>The (first) slot this was decoded from.</summary>
    public Instruction Raw { get; }

    /// <summary>The destination register.</summary>
    public int Dst => Raw.Dst;

    /// <summary>The source register.</summary>
    public int Src => Raw.Src;

    /// <summary>The offset field (the displacement of memory accesses).</summary>
    public short Offset => Raw.Offset;

    /// <summary>The immediate field, as encoded (ALU64 and JMP sign-extend it to 64 bits).</summary>
    public int Imm => Raw.Imm;

    /// <summary>True for the 64-bit forms: class ALU64 and JMP, 64-bit atomics; false for ALU, JMP32 and 32-bit atomics.</summary>
    public bool Is64 { get; }

    /// <summary>The operand width in bits of ALU, jump and atomic operations (32 or 64).</summary>
    public int Width => Is64 ? 64 : 32;

    /// <summary>Where the second operand comes from: the <c>src</c> register or the immediate (ALU, conditional jumps, stores).</summary>
    public OperandSource Source { get; }

    /// <summary>True when the source operand is the <c>src</c> register.</summary>
    public bool HasRegisterSource => Source == OperandSource.Register;

    /// <summary>True for signed operations: <c>sdiv</c>, <c>smod</c>, <c>movsx</c>, <c>arsh</c>, the signed jumps and sign-extending loads.</summary>
    public bool IsSigned { get; }

    /// <summary>The number of bytes a memory access touches (1, 2, 4 or 8), or 0 for operations that touch no memory.</summary>
    public int AccessSize { get; }

    /// <summary>
    /// The register that receives the old value of an atomic operation: <c>src</c> for the fetch forms and
    /// <c>xchg</c>, r0 for <c>cmpxchg</c>, or -1 (no atomic operation, or one that writes back nothing).
    /// </summary>
    public int WriteBackRegister { get; }

    /// <summary>The slot a jump goes to or a local call enters (absolute), or -1.</summary>
    public int Target { get; }

    /// <summary>The 64-bit immediate of an <c>lddw</c> (the two slots' immediates), which a pseudo source resolves further.</summary>
    public ulong Value { get; }

    /// <summary>The pseudo source of an <c>lddw</c> (<see cref="LddwSource.Immediate"/> for a plain value and for other operations).</summary>
    public LddwSource PseudoSource => Operation == Operation.Lddw ? (LddwSource)Raw.Src : LddwSource.Immediate;

    /// <summary>The fields of the slot this operation does not read (RFC 9669 says they must be 0).</summary>
    public InstructionFields UnusedFields { get; }

    /// <summary>The fields of <see cref="UnusedFields"/> that are not 0 (what the policy verifier rejects and the canonical text cannot express).</summary>
    public InstructionFields NonZeroUnusedFields =>
        UnusedFields
        & ((Raw.Dst != 0 ? InstructionFields.Dst : 0)
            | (Raw.Src != 0 ? InstructionFields.Src : 0)
            | (Raw.Offset != 0 ? InstructionFields.Offset : 0)
            | (Raw.Imm != 0 ? InstructionFields.Imm : 0));

    /// <summary>The number of slots: 2 for <c>lddw</c>, else 1.</summary>
    public int Length => Operation == Operation.Lddw ? 2 : 1;

    /// <summary>The register that holds the base address of a load, store or atomic operation, or -1.</summary>
    public int BaseRegister => Operation switch
    {
        Operation.Load or Operation.LoadSignExtend => Raw.Src,
        Operation.Store => Raw.Dst,
        _ => IsAtomic ? Raw.Dst : -1,
    };

    /// <summary>True for <c>ja</c>, <c>ja32</c> and the conditional jumps (control moves to <see cref="Target"/> inside the function).</summary>
    public bool IsJump => Operation is >= Operation.Ja and <= Operation.Jsle;

    /// <summary>True for the conditional jumps.</summary>
    public bool IsConditionalJump => Operation is >= Operation.Jeq and <= Operation.Jsle;

    /// <summary>True for the atomic read-modify-write operations.</summary>
    public bool IsAtomic => Operation >= Operation.AtomicAdd;

    /// <summary>True for helper calls by id and <c>callx</c>.</summary>
    public bool IsHelperCall => Operation is Operation.CallHelper or Operation.CallX;

    /// <summary>True for the accesses the memory checks cover: loads, stores and atomics (not the legacy packet loads, which only read the input).</summary>
    public bool IsMemoryAccess => BaseRegister >= 0;

    /// <summary>True for the legacy packet loads (<c>ldabs</c>, <c>ldind</c>).</summary>
    public bool IsPacketLoad => Operation is Operation.LoadAbsolute or Operation.LoadIndirect;

    /// <summary>True when control can continue with the next instruction (everything but <c>ja</c>, <c>ja32</c> and <c>exit</c>).</summary>
    public bool FallsThrough => Operation is not (Operation.Ja or Operation.Ja32 or Operation.Exit);

    /// <summary>True when the instruction can stop the run with an error or hand control elsewhere: jumps, calls, exit,
    /// packet loads and (when <paramref name="memoryChecks"/>) checked memory accesses.</summary>
    public bool EndsStraightLine(bool memoryChecks) =>
        Operation is >= Operation.Ja and <= Operation.Exit || IsPacketLoad || (memoryChecks && IsMemoryAccess);

    /// <summary>The register this instruction writes, other than an atomic write-back (-1 when none).</summary>
    public int WrittenRegister => Operation switch
    {
        >= Operation.Add and <= Operation.Bswap64 or Operation.Lddw or Operation.Load or Operation.LoadSignExtend => Raw.Dst,
        Operation.LoadAbsolute or Operation.LoadIndirect or Operation.CallHelper or Operation.CallX or Operation.CallLocal => 0,
        _ => -1,
    };

    /// <inheritdoc />
    public override string ToString() => $"{Operation} ({Raw})";
}
