using System.Buffers.Binary;
using Ebpf.Elf;
using Ebpf.Maps;

namespace Ebpf.Bench.Workloads;

/// <summary>
/// The deterministic inputs of the workloads. Mirrors <c>bench/native/inputs.c</c> byte for byte (splitmix64 with a
/// fixed seed per workload), so the native driver and the engines run on identical buffers.
/// </summary>
internal static class WorkloadInputs
{
    private const uint HashMapEntries = 512;

    private static readonly ushort[] Ports = [80, 443, 22, 8080];

    /// <summary>prime: the limit 5000 as a little-endian u64 at offset 0.</summary>
    public static void Prime(byte[] mem)
    {
        Array.Clear(mem);
        BinaryPrimitives.WriteUInt64LittleEndian(mem, 5000);
    }

    /// <summary>memcpy: random bytes in the first half, zeroes in the second.</summary>
    public static void Memcpy(byte[] mem)
    {
        Array.Clear(mem);
        FillRandom(mem.AsSpan(0, mem.Length / 2), 1);
    }

    /// <summary>strcmp (equal): the same random lower-case string (NUL-terminated) in both halves.</summary>
    public static void StringsEqual(byte[] mem)
    {
        ulong s = 2;
        var half = mem.Length / 2;
        Array.Clear(mem);
        for (var i = 0; i + 1 < half; i++)
        {
            mem[i] = (byte)('a' + (Next(ref s) % 26));
        }

        mem.AsSpan(0, half).CopyTo(mem.AsSpan(half));
    }

    /// <summary>strcmp (mismatch): as <see cref="StringsEqual"/>, with the second string differing at index 3.</summary>
    public static void StringsMismatch(byte[] mem)
    {
        StringsEqual(mem);
        mem[(mem.Length / 2) + 3] ^= 1;
    }

    /// <summary>
    /// strcmp over 1 MiB, early mismatch: as <see cref="StringsEqual"/>, with the second string differing one eighth of
    /// the way in (index <c>length / 16</c>: 131,072 for a 2 MiB buffer).
    /// </summary>
    public static void StringsEarlyMismatch(byte[] mem)
    {
        StringsEqual(mem);
        mem[(mem.Length / 2) + (mem.Length / 16)] ^= 1;
    }

    /// <summary>constant, helper_calls: zeroes (the programs read nothing but the length).</summary>
    public static void Zero(byte[] mem) => Array.Clear(mem);

    /// <summary>load_add: random bytes.</summary>
    public static void LoadAdd(byte[] mem) => FillRandom(mem, 11);

    /// <summary>stack_array: random bytes.</summary>
    public static void StackArray(byte[] mem) => FillRandom(mem, 12);

    /// <summary>log2: little-endian u64 values of every magnitude, all non-zero.</summary>
    public static void Log2(byte[] mem)
    {
        ulong s = 3;
        for (var i = 0; i + 8 <= mem.Length; i += 8)
        {
            var r = Next(ref s);
            var shift = (int)(Next(ref s) & 63);
            BinaryPrimitives.WriteUInt64LittleEndian(mem.AsSpan(i), (r >> shift) | 1);
        }
    }

    /// <summary>switch: random bytes.</summary>
    public static void Switch(byte[] mem) => FillRandom(mem, 4);

    /// <summary>straight: random bytes.</summary>
    public static void Straight(byte[] mem) => FillRandom(mem, 5);

    /// <summary>checksum: a random IPv4/TCP packet (IHL 5, total length = the buffer's length, protocol 6).</summary>
    public static void Checksum(byte[] mem)
    {
        FillRandom(mem, 6);
        mem[0] = 0x45;
        mem[2] = (byte)(mem.Length >> 8);
        mem[3] = (byte)mem.Length;
        mem[9] = 6;
    }

    /// <summary>filter: 64-byte Ethernet frames with a random mix of VLAN tags, IPv4/IPv6, options, fragments, protocols, sources and ports.</summary>
    public static void Filter(byte[] mem)
    {
        ulong s = 7;
        FillRandom(mem, 8);
        for (var at = 0; at + 64 <= mem.Length; at += 64)
        {
            var f = mem.AsSpan(at, 64);
            var r = Next(ref s);
            var off = 12;
            if ((r & 7) == 0)
            {
                f[12] = 0x81;
                f[13] = 0x00;
                off = 16;
            }

            if (((r >> 3) & 7) == 0)
            {
                f[off] = 0x86;
                f[off + 1] = 0xdd;
            }
            else
            {
                f[off] = 0x08;
                f[off + 1] = 0x00;
            }

            var ip = f[(off + 2)..];
            ip[0] = ((r >> 6) & 15) == 0 ? (byte)0x46 : (byte)0x45;
            ip[6] = ((r >> 10) & 7) == 0 ? (byte)0x20 : (byte)0x40;
            ip[7] = 0;
            ip[9] = ((r >> 13) & 3) == 0 ? (byte)17 : (byte)6;
            ip[12] = ((r >> 15) & 3) == 0 ? (byte)192 : (byte)10;
            var tcp = ip[((ip[0] & 15) * 4)..];
            var port = Ports[(int)((r >> 17) & 3)];
            tcp[2] = (byte)(port >> 8);
            tcp[3] = (byte)port;
        }
    }

    /// <summary>
    /// hashmap: 1,024 u32 keys, about half present in the map (7j+1) and half absent (7j+2); see
    /// <see cref="FillHashMap"/>.
    /// </summary>
    public static void HashMapKeys(byte[] mem)
    {
        ulong s = 9;
        for (var at = 0; at + 4 <= mem.Length; at += 4)
        {
            var r = Next(ref s);
            var key = ((uint)((r >> 1) % HashMapEntries) * 7) + ((r & 1) != 0 ? 1u : 2u);
            BinaryPrimitives.WriteUInt32LittleEndian(mem.AsSpan(at), key);
        }
    }

    /// <summary>hashmap: the map <c>table</c> holds the keys 7i+1 (i &lt; 512) with the values 3k+1,000,000.</summary>
    public static void FillHashMap(ElfRuntime runtime)
    {
        var table = runtime.GetMap("table");
        for (uint i = 0; i < HashMapEntries; i++)
        {
            var key = (i * 7) + 1;
            if (table.Update(key, ((ulong)key * 3) + 1_000_000) != MapStatus.Success)
            {
                throw new InvalidOperationException($"cannot fill the hashmap workload's map at key {key}");
            }
        }
    }

    private static void FillRandom(Span<byte> mem, ulong seed)
    {
        var s = seed;
        for (var i = 0; i < mem.Length; i++)
        {
            mem[i] = (byte)Next(ref s);
        }
    }

    /// <summary>splitmix64.</summary>
    private static ulong Next(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
