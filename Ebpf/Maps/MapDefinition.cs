namespace Ebpf.Maps;

/// <summary>
/// The shape of a map: what <c>struct bpf_map_def</c> or a BTF-defined map declares. Sizes are in bytes.
/// </summary>
/// <param name="Name">The map's name (the ELF symbol, or a data section such as <c>.bss</c>).</param>
/// <param name="Type">The map type.</param>
/// <param name="KeySize">The key size (4 for arrays and program arrays).</param>
/// <param name="ValueSize">The value size (4 for program arrays).</param>
/// <param name="MaxEntries">The capacity.</param>
/// <param name="Flags">The Linux map flags (e.g. <see cref="ReadOnlyProgramFlag"/>).</param>
public sealed record MapDefinition(string Name, BpfMapType Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags = 0)
{
    /// <summary><c>BPF_F_RDONLY_PROG</c>: programs may read the values but not write them (used for <c>.rodata</c>).</summary>
    public const uint ReadOnlyProgramFlag = 1u << 8;

    /// <summary>The largest value size accepted (1 MiB, a guard against absurd definitions in hostile files).</summary>
    public const uint MaxValueSize = 1u << 20;

    /// <summary>The largest key size accepted (as in Linux, <c>MAX_BPF_STACK</c> = 512).</summary>
    public const uint MaxKeySize = 512;

    /// <summary>The most bytes of value storage one map may take (256 MiB).</summary>
    public const ulong MaxStorageBytes = 256ul << 20;

    /// <summary>True when programs may not write the values (<see cref="ReadOnlyProgramFlag"/>).</summary>
    public bool IsReadOnlyForPrograms => (Flags & ReadOnlyProgramFlag) != 0;

    /// <summary>The bytes between two consecutive values in storage: the value size rounded up to 8, as in Linux.</summary>
    public ulong ValueStride => ((ulong)ValueSize + 7) & ~7ul;

    /// <summary>The reason this definition cannot be created, or null when it is valid.</summary>
    public string? Validate()
    {
        switch (Type)
        {
            case BpfMapType.Array:
                if (KeySize != 4)
                {
                    return $"an array map needs a 4-byte key, not {KeySize}";
                }

                break;
            case BpfMapType.ProgramArray:
                if (KeySize != 4 || ValueSize != 4)
                {
                    return $"a program array needs 4-byte keys and values, not {KeySize} and {ValueSize}";
                }

                break;
            case BpfMapType.Hash:
                if (KeySize == 0 || KeySize > MaxKeySize)
                {
                    return $"a hash map needs a key of 1 to {MaxKeySize} bytes, not {KeySize}";
                }

                break;
            default:
                return $"map type {(uint)Type} is not supported (supported: hash 1, array 2, program array 3)";
        }

        if (ValueSize == 0 || ValueSize > MaxValueSize)
        {
            return $"the value size must be 1 to {MaxValueSize} bytes, not {ValueSize}";
        }

        if (MaxEntries == 0)
        {
            return "max_entries must not be 0";
        }

        if (ValueStride * MaxEntries > MaxStorageBytes)
        {
            return $"{MaxEntries} entries of {ValueSize} bytes exceed the {MaxStorageBytes >> 20} MiB limit";
        }

        return null;
    }
}
