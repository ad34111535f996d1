using System.Buffers.Binary;
using System.Numerics;

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
    /// What <c>bpf_csum_diff</c> returns on Linux 6.18 (x86-64): <c>csum_sub(csum_partial(to, seed), csum_partial(from,
    /// 0))</c> when both are given, <c>csum_partial(to, seed)</c> for <paramref name="to"/> only,
    /// <c>~csum_partial(from, ~seed)</c> for <paramref name="from"/> only, <paramref name="seed"/> for neither, folded to
    /// 16 bits without complement (<c>csum_from32to16</c>). Any lengths (the kernel no longer asks for multiples of 4).
    /// </summary>
    public static ushort Diff(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to, uint seed)
    {
        uint sum = from.Length != 0 && to.Length != 0 ? Sub(Partial(to, seed), Partial(from, 0))
            : to.Length != 0 ? Partial(to, seed)
            : from.Length != 0 ? ~Partial(from, ~seed)
            : seed;
        return (ushort)((sum + BitOperations.RotateRight(sum, 16)) >> 16);
    }

    /// <summary>
    /// x86-64's <c>csum_partial</c>: the 64-bit ones' complement sum (end-around carry) of <paramref name="seed"/> and the
    /// little-endian 64-bit words of <paramref name="data"/> (the last one zero-padded), folded to 32 bits the same way.
    /// The end-around sum is 0 only when every term is, and otherwise the one value in [1, 2^64 - 1] of its class modulo
    /// 2^64 - 1, so the order of the additions (the kernel's unrolled chunks) does not change it.
    /// </summary>
    private static uint Partial(ReadOnlySpan<byte> data, uint seed)
    {
        ulong sum = seed;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            sum = Add(sum, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        }

        if (i < data.Length)
        {
            Span<byte> tail = stackalloc byte[8];
            tail.Clear();
            data[i..].CopyTo(tail);
            sum = Add(sum, BinaryPrimitives.ReadUInt64LittleEndian(tail));
        }

        return Add((uint)(sum >> 32), (uint)sum);
    }

    /// <summary>64-bit ones' complement addition (end-around carry).</summary>
    private static ulong Add(ulong a, ulong b)
    {
        ulong sum = a + b;
        return sum + (sum < b ? 1UL : 0UL);
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
