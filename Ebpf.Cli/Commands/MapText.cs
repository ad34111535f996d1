using System.Buffers.Binary;
using System.Globalization;
using Ebpf.Maps;

namespace Ebpf.Cli.Commands;

/// <summary>Prints map contents after a run (<c>ebpf run --maps</c>).</summary>
internal static class MapText
{
    /// <summary>
    /// Writes each map with its entries: every entry of a hash map, the entries of an array map whose value is not all
    /// zero (global data sections included), and the occupied slots of a program array. Keys and values of 4 or 8
    /// bytes print as little-endian numbers, others as hex bytes.
    /// </summary>
    public static void Write(TextWriter output, IEnumerable<BpfMap> maps)
    {
        foreach (var map in maps)
        {
            if (map.Type == BpfMapType.ProgramArray)
            {
                output.WriteLine($"map {map.Name} ({map.Type}, {map.Count} program(s))");
                continue;
            }

            var entries = map.GetEntries()
                .Where(e => map.Type != BpfMapType.Array || e.Value.AsSpan().ContainsAnyExcept((byte)0))
                .ToList();
            string shown = map.Type == BpfMapType.Array ? $"{entries.Count} non-zero of {map.MaxEntries}" : $"{entries.Count} of {map.MaxEntries}";
            output.WriteLine($"map {map.Name} ({map.Type}, {shown} entries)");
            foreach (var (key, value) in entries)
            {
                output.WriteLine($"  {Bytes(key)} = {Bytes(value)}");
            }
        }
    }

    private static string Bytes(byte[] bytes) => bytes.Length switch
    {
        4 => BinaryPrimitives.ReadUInt32LittleEndian(bytes).ToString(CultureInfo.InvariantCulture),
        8 => BinaryPrimitives.ReadUInt64LittleEndian(bytes).ToString(CultureInfo.InvariantCulture),
        _ => string.Join(' ', bytes.Select(b => b.ToString("x2", CultureInfo.InvariantCulture))),
    };
}
