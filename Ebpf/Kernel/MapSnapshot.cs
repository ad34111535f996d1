using Ebpf.Elf;
using Ebpf.Maps;

namespace Ebpf.Kernel;

/// <summary>
/// The maps of a runtime as text lines in the format of the kernel oracle and <c>BPF_PROG_TEST_RUN</c> tools, so a
/// result can be diffed against the kernel's: <c>map NAME key=HEX value=HEX</c> (per-CPU maps <c>map NAME key=HEX cpu=N
/// value=HEX</c>), arrays in index order, hash-like maps sorted by key bytes; ring buffers one line per record not yet
/// consumed, <c>ringbuf NAME record=HEX</c>, in order (what a libbpf consumer reads after the run).
/// </summary>
public static class MapSnapshot
{
    private static readonly Comparer<byte[]> KeyOrder = Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b));

    /// <summary>The lines for every map of <paramref name="runtime"/>, in the object's map order.</summary>
    public static IReadOnlyList<string> Lines(ElfRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var lines = new List<string>();
        foreach (var map in runtime.Maps)
        {
            lines.AddRange(Lines(map));
        }

        return lines;
    }

    /// <summary>
    /// The lines for <paramref name="map"/>: per-CPU maps one line per CPU (<c>cpu=N</c>); arrays, device, CPU and
    /// socket maps and arrays of maps in key order as the kernel iterates them, other maps sorted by key bytes; ring
    /// buffers one <c>ringbuf NAME record=HEX</c> line per submitted record not yet consumed, in order (discarded
    /// records left out; the records stay in the ring); queues, stacks and program arrays a <c>skipped=</c> line as the
    /// kernel oracle prints.
    /// </summary>
    /// <exception cref="EbpfMapException">A ring buffer's record header was overwritten (a program wrote past its record).</exception>
    public static IEnumerable<string> Lines(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        switch (map.Type)
        {
            case BpfMapType.RingBuffer:
                return ((RingBufferMap)map).Peek().Select(record => $"ringbuf {map.Name} record={Convert.ToHexStringLower(record)}").ToArray();
            case BpfMapType.ProgramArray:
                return [$"map {map.Name} skipped=type_{(int)map.Type}"];
            case BpfMapType.Queue or BpfMapType.Stack:
                return [$"map {map.Name} skipped=keyless_type_{(int)map.Type}"];
        }

        IEnumerable<KeyValuePair<byte[], byte[]>> entries = map.GetEntries();
        if (map.Type is not (BpfMapType.Array or BpfMapType.PerCpuArray or BpfMapType.DevMap or BpfMapType.CpuMap or BpfMapType.XskMap or BpfMapType.ArrayOfMaps))
        {
            entries = entries.OrderBy(e => e.Key, KeyOrder);
        }

        if (!map.Definition.IsPerCpu)
        {
            return entries.Select(e => $"map {map.Name} key={Convert.ToHexStringLower(e.Key)} value={Convert.ToHexStringLower(e.Value)}");
        }

        int stride = (int)map.Definition.ValueStride;
        return entries.SelectMany(e => Enumerable.Range(0, map.Cpus).Select(cpu =>
            $"map {map.Name} key={Convert.ToHexStringLower(e.Key)} cpu={cpu} value={Convert.ToHexStringLower(e.Value.AsSpan(cpu * stride, map.ValueSize))}"));
    }

    /// <summary>
    /// Sets one entry before a run, as <c>--set-map NAME KEYHEX VALUEHEX</c> does: the key and value are raw bytes as
    /// the kernel stores them (hex digits; <c>0x</c>, <c>:</c>, <c>_</c>, <c>-</c> and spaces are ignored). A per-CPU map
    /// takes one value (set on every CPU) or every CPU's value, each padded to 8 bytes.
    /// </summary>
    /// <exception cref="EbpfTestRunException">No such map, bad hex, wrong key or value size, or the map refused the update.</exception>
    public static void Set(ElfRuntime runtime, string name, string keyHex, string valueHex)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var map = runtime.Maps.FirstOrDefault(m => m.Name == name)
            ?? throw new EbpfTestRunException($"set-map: no map named '{name}' (maps: {string.Join(", ", runtime.Maps.Select(m => m.Name))})");
        var key = ParseHex(keyHex, "key");
        var value = ParseHex(valueHex, "value");
        if (map.Definition.IsPerCpu && value.Length == map.ValueSize)
        {
            // One value for every CPU, as the kernel oracle takes it.
            var all = new byte[map.HostValueSize];
            for (int cpu = 0; cpu < map.Cpus; cpu++)
            {
                value.CopyTo(all, cpu * (int)map.Definition.ValueStride);
            }

            value = all;
        }

        if (key.Length != map.KeySize || value.Length != map.HostValueSize)
        {
            throw new EbpfTestRunException($"set-map {name}: key is {key.Length} bytes and value {value.Length}, the map wants {map.KeySize} and {map.HostValueSize}");
        }

        var status = map.Update(key, value);
        if (status != MapStatus.Success)
        {
            throw new EbpfTestRunException($"set-map {name}: update failed ({status})");
        }
    }

    /// <summary>
    /// Applies a map file: lines <c>NAME KEYHEX VALUEHEX</c>; blank lines and lines starting with <c>#</c> are skipped.
    /// </summary>
    /// <exception cref="EbpfTestRunException">A line is malformed or cannot be applied (the message names the line).</exception>
    public static void Apply(ElfRuntime runtime, TextReader mapFile, string fileName = "map file")
    {
        ArgumentNullException.ThrowIfNull(mapFile);
        int number = 0;
        while (mapFile.ReadLine() is { } line)
        {
            number++;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || parts[0].StartsWith('#'))
            {
                continue;
            }

            if (parts.Length != 3)
            {
                throw new EbpfTestRunException($"{fileName}:{number}: expected 'NAME KEYHEX VALUEHEX', found {parts.Length} fields");
            }

            try
            {
                Set(runtime, parts[0], parts[1], parts[2]);
            }
            catch (EbpfTestRunException e)
            {
                throw new EbpfTestRunException($"{fileName}:{number}: {e.Message}", e);
            }
        }
    }

    private static byte[] ParseHex(string text, string what)
    {
        ArgumentNullException.ThrowIfNull(text);
        var digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        digits = string.Concat(digits.Where(c => c is not (':' or '_' or '-' or ' ')));
        if (digits.Length % 2 != 0 || !digits.All(char.IsAsciiHexDigit))
        {
            throw new EbpfTestRunException($"the {what} '{text}' is not an even number of hex digits");
        }

        return Convert.FromHexString(digits);
    }
}
