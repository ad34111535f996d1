using System.Buffers.Binary;

namespace Ebpf.Helpers;

/// <summary>Ones' complement arithmetic of the Internet checksum (RFC 1071, RFC 1624) as the Linux helpers use it.</summary>
internal static class InternetChecksum
{
    /// <summary>32-bit ones' complement addition (end-around carry).</summary>
    public static uint Add(uint a, uint b)
    {
        uint sum = a + b;
        return sum + (sum < b ? 1u : 0u);
    }

    /// <summary>32-bit ones' complement subtraction.</summary>
    public static uint Sub(uint a, uint b) => Add(a, ~b);

    /// <summary>Folds a 32-bit partial sum to 16 bits and complements it.</summary>
    public static ushort Fold(uint sum)
    {
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>
    /// The partial sum of <c>~from</c> and <c>to</c> (32-bit little-endian words) plus <paramref name="seed"/>:
    /// what <c>bpf_csum_diff</c> returns. Both lengths are multiples of 4.
    /// </summary>
    public static uint Diff(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to, uint seed)
    {
        ulong sum = seed;
        for (int i = 0; i < from.Length; i += 4)
        {
            sum += ~BinaryPrimitives.ReadUInt32LittleEndian(from[i..]);
        }

        for (int i = 0; i < to.Length; i += 4)
        {
            sum += BinaryPrimitives.ReadUInt32LittleEndian(to[i..]);
        }

        while (sum >> 32 != 0)
        {
            sum = (sum & 0xffff_ffff) + (sum >> 32);
        }

        return (uint)sum;
    }

    /// <summary>16-bit ones' complement addition.</summary>
    public static ushort Add16(ushort a, ushort b)
    {
        ushort sum = (ushort)(a + b);
        return (ushort)(sum + (sum < b ? 1 : 0));
    }

    /// <summary>
    /// Updates the 16-bit checksum <paramref name="check"/> (as stored in memory, read little-endian) for a field that
    /// changed from <paramref name="from"/> to <paramref name="to"/> (values as read from memory): 16-bit arithmetic
    /// for a 2-byte field of <c>bpf_l3_csum_replace</c> (Linux <c>csum_replace2</c>), 32-bit arithmetic otherwise
    /// (<c>csum_replace4</c>); with <paramref name="size"/> 0, <paramref name="to"/> is a partial sum to add
    /// (<c>csum_replace_by_diff</c>).
    /// </summary>
    public static ushort Replace(ushort check, uint from, uint to, int size, bool sixteenBit) => size switch
    {
        0 => Fold(Add(to, ~(uint)check)),
        2 when sixteenBit => (ushort)~Add16(Add16((ushort)~check, (ushort)~from), (ushort)to),
        2 => Fold(Add(Sub(~(uint)check, from & 0xffff), to & 0xffff)),
        _ => Fold(Add(Sub(~(uint)check, from), to)),
    };
}
