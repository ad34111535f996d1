namespace Ebpf.Elf;

/// <summary>
/// Reads clang <c>-target bpf</c> objects: 64-bit little-endian relocatable ELF files for machine BPF (247).
/// Every problem with the file is reported as an <see cref="EbpfElfException"/> naming the section and offset.
/// </summary>
/// <example>
/// <code>
/// var elf = ElfLoader.Load("examples/block_port.o");
/// using var runtime = elf.CreateRuntime();
/// using var program = runtime.Compile(engine, "xdp");
/// ulong verdict = program.Run(packet);
/// </code>
/// </example>
public static class ElfLoader
{
    /// <summary>The largest object accepted (64 MiB).</summary>
    public const int MaxFileSize = 64 << 20;

    /// <summary>Reads an object file.</summary>
    /// <exception cref="EbpfElfException">The file cannot be read or is not a valid BPF object.</exception>
    public static ElfObject Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] data;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileSize)
            {
                throw new EbpfElfException(path, $"the file has {info.Length} bytes, more than {MaxFileSize}");
            }

            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new EbpfElfException(path, $"cannot read the file: {e.Message}", e);
        }

        return Load(data, path);
    }

    /// <summary>Reads an object from memory.</summary>
    /// <param name="data">The file's bytes.</param>
    /// <param name="fileName">A name for messages, if any.</param>
    /// <exception cref="EbpfElfException">The data is not a valid BPF object.</exception>
    public static ElfObject Load(ReadOnlySpan<byte> data, string? fileName = null)
    {
        if (data.Length > MaxFileSize)
        {
            throw new EbpfElfException(fileName ?? "object", $"{data.Length} bytes, more than {MaxFileSize}");
        }

        try
        {
            return new ElfObject(ElfFile.Parse(data.ToArray()), fileName);
        }
        catch (EbpfException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new EbpfElfException(fileName ?? "object", $"unexpected error while reading the object: {e.Message}", e);
        }
    }
}
