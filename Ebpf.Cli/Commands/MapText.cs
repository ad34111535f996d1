using System.Buffers.Binary;
using System.Globalization;
using Ebpf.Maps;

namespace Ebpf.Cli.Commands;

/// <summary>Prints map contents after a run (<c>ebpf run --maps</c>).</summary>
internal static class MapText
{
    /// <summary>
    /// Writes each map with its entries: every entry of a hash map, the entries of an array map whose value is not all
    /// zero (global data sections included), the occupied slots of a program array, the inner maps of a map of maps,
    /// the values of a queue or stack in the order they would come out, and the records a ring buffer holds (which
    /// are consumed). Keys and values of 4 or 8 bytes print as little-endian numbers, others as hex bytes; a per-CPU
    /// value prints as one value per CPU.
    /// </summary>
    public static void Write(TextWriter output, IEnumerable<BpfMap> maps)
    {
        foreach (var map in maps)
        {
            switch (map)
            {
                case ProgramArrayMap:
                    output.WriteLine($"map {map.Name} ({map.Type}, {map.Count} program(s))");
                    continue;
                case RingBufferMap ring:
                    var records = new List<byte[]>();
                    ring.Drain(r => records.Add(r.ToArray()));
                    output.WriteLine($"map {map.Name} ({map.Type}, {records.Count} record(s))");
                    records.ForEach(r => output.WriteLine($"  {Bytes(r)}"));
                    continue;
            }

            bool array = map.Type is BpfMapType.Array or BpfMapType.PerCpuArray;
            var entries = map.GetEntries()
                .Where(e => !array || e.Value.AsSpan().ContainsAnyExcept((byte)0))
                .ToList();
            string shown = array ? $"{entries.Count} non-zero of {map.MaxEntries}" : $"{entries.Count} of {map.MaxEntries}";
            output.WriteLine($"map {map.Name} ({map.Type}, {shown} entries)");
            foreach (var (key, value) in entries)
            {
                string text = map switch
                {
                    MapOfMaps outer => outer.Get(key)?.Name ?? "(removed)",
                    { Definition.IsPerCpu: true } => string.Join(' ', value.Chunk((int)map.Definition.ValueStride).Select((v, cpu) => $"cpu{cpu}={Bytes(v[..map.ValueSize])}")),
                    _ => Bytes(value),
                };
                output.WriteLine(key.Length == 0 ? $"  {text}" : $"  {Bytes(key)} = {text}");
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
