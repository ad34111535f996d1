using System.Security.Cryptography;
using System.Text;
using Ebpf.Assembly;
using Ebpf.Conformance;
using Ebpf.Elf;
using Ebpf.Fuzzing;
using Ebpf.Kernel;
using Ebpf.Kernel.Pcap;

namespace Ebpf.Fuzz;

/// <summary>
/// Turns the bpf_conformance programs and the repository's examples into seed inputs of one target's format, at
/// campaign time (the suite's files are read in place, never copied into the repository).
/// </summary>
internal static class SeedConverter
{
    /// <summary>Writes the seeds of <paramref name="target"/> into <paramref name="output"/>; returns how many.</summary>
    public static int Write(string target, string output, string conformance, string examples)
    {
        Directory.CreateDirectory(output);
        int count = 0;
        foreach (var seed in Seeds(target, conformance, examples).DistinctBy(Convert.ToHexString))
        {
            File.WriteAllBytes(Path.Combine(output, Convert.ToHexString(SHA256.HashData(seed))[..16].ToLowerInvariant()), seed);
            count++;
        }

        return count;
    }

    private static IEnumerable<byte[]> Seeds(string target, string conformance, string examples)
    {
        var tests = Directory.Exists(conformance)
            ? Directory.EnumerateFiles(conformance, "*.data", SearchOption.AllDirectories).Order().Select(TryLoad).OfType<ConformanceTest>().ToList()
            : [];
        var objects = Directory.EnumerateFiles(examples, "*.o", SearchOption.AllDirectories).Order().ToList();
        var assembly = Directory.EnumerateFiles(examples, "*.s", SearchOption.AllDirectories).Order().Select(File.ReadAllText).ToList();
        switch (target)
        {
            case "asm":
                return tests.Select(t => t.Asm).OfType<string>().Concat(assembly).Select(Encoding.UTF8.GetBytes);
            case "elf":
                return objects.Select(File.ReadAllBytes);
            case "decode":
                return tests.Select(Code).OfType<byte[]>()
                    .Concat(assembly.Select(TryAssemble).OfType<byte[]>())
                    .Concat(objects.SelectMany(ObjectPrograms).Select(p => p.Code));
            case "diff":
                return tests.Where(t => t.Memory.Length <= byte.MaxValue)
                    .Select(t => Code(t) is { } code ? new DifferentialInput(t.Memory, code).ToBytes() : null)
                    .OfType<byte[]>();
            case "kernel":
                return KernelSeeds(examples, objects);
            case "pcap":
                return [Capture(Packets(examples))];
            default:
                throw new ArgumentException($"no seeds for target '{target}'");
        }
    }

    /// <summary>Every program of the kernel examples (the type from its section) on every example frame that fits.</summary>
    private static IEnumerable<byte[]> KernelSeeds(string examples, List<string> objects)
    {
        var packets = Packets(examples).Where(p => p.Length <= byte.MaxValue).ToList();
        foreach (var (section, code) in objects.SelectMany(ObjectPrograms))
        {
            if (KernelProgramTypes.FromSection(section) is { } type)
            {
                foreach (var packet in packets)
                {
                    yield return new KernelInput(type, packet, code).ToBytes();
                }
            }
        }
    }

    private static List<byte[]> Packets(string examples) =>
        Directory.EnumerateFiles(examples, "*.bin", SearchOption.AllDirectories).Order().Select(File.ReadAllBytes).ToList();

    /// <summary>A pcap file of <paramref name="frames"/>.</summary>
    private static byte[] Capture(List<byte[]> frames)
    {
        using var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, leaveOpen: true))
        {
            for (int i = 0; i < frames.Count; i++)
            {
                writer.Write(frames[i], TimeSpan.FromSeconds(1_700_000_000 + i));
            }
        }

        return stream.ToArray();
    }

    private static ConformanceTest? TryLoad(string path)
    {
        try
        {
            return ConformanceTest.Load(path);
        }
        catch (EbpfException)
        {
            return null;
        }
    }

    private static byte[]? Code(ConformanceTest test) => test.Raw ?? (test.Asm is { } asm ? TryAssemble(asm) : null);

    private static byte[]? TryAssemble(string text)
    {
        try
        {
            return Assembler.AssembleBytes(text);
        }
        catch (EbpfAssemblyException)
        {
            return null;
        }
    }

    /// <summary>The section and linked bytecode of every program of the object at <paramref name="path"/> that links.</summary>
    private static IEnumerable<(string Section, byte[] Code)> ObjectPrograms(string path)
    {
        var elf = ElfLoader.Load(path);
        foreach (var info in elf.Programs)
        {
            byte[]? bytes = null;
            try
            {
                bytes = elf.GetProgram(info.Name).Bytes.ToArray();
            }
            catch (EbpfException)
            {
            }

            if (bytes is not null)
            {
                yield return (info.Section, bytes);
            }
        }
    }
}
