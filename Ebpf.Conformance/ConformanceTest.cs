using System.Globalization;
using System.Text;
using Ebpf.Assembly;
using Ebpf.Isa;

namespace Ebpf.Conformance;

/// <summary>
/// One test of the bpf_conformance format (<c>.data</c> files): sections introduced by <c>-- NAME</c> lines
/// (<c>asm</c>, <c>raw</c>, <c>mem</c>, <c>result</c>, <c>error</c>, <c>no register offset</c>, <c>c</c>) and
/// <c>#</c> comment lines.
/// </summary>
public sealed class ConformanceTest
{
    private static readonly string[] KnownSections = ["asm", "raw", "mem", "result", "error", "no register offset", "c"];

    private ConformanceTest(string name)
    {
        Name = name;
    }

    /// <summary>The test's name (the file name without extension, or what the caller gave).</summary>
    public string Name { get; }

    /// <summary>The program in assembly (the <c>asm</c> section, comments removed), or null.</summary>
    public string? Asm { get; private set; }

    /// <summary>The 1-based line in the file where the <c>asm</c> text starts (to map assembler errors back to the file).</summary>
    public int AsmFirstLine { get; private set; }

    /// <summary>The encoded program (the <c>raw</c> section: 64-bit hex words, one slot each), or null.</summary>
    public byte[]? Raw { get; private set; }

    /// <summary>The memory given to the program (the <c>mem</c> section), empty when absent.</summary>
    public byte[] Memory { get; private set; } = [];

    /// <summary>The expected r0 (the <c>result</c> section), or null.</summary>
    public ulong? Result { get; private set; }

    /// <summary>The expected error text (the <c>error</c> section), or null when none is expected.</summary>
    public string? Error { get; private set; }

    /// <summary>The text of the <c>no register offset</c> section, or null when absent.</summary>
    public string? NoRegisterOffset { get; private set; }

    /// <summary>The C source the program came from (the <c>c</c> section), or null.</summary>
    public string? CSource { get; private set; }

    /// <summary>Reads a <c>.data</c> file.</summary>
    /// <exception cref="EbpfAssemblyException">An unknown section, bad hex or a bad result value (with line and column).</exception>
    public static ConformanceTest Load(string path) =>
        Parse(File.ReadAllText(path), Path.GetFileNameWithoutExtension(path));

    /// <summary>Parses the text of a <c>.data</c> file.</summary>
    /// <exception cref="EbpfAssemblyException">An unknown section, bad hex or a bad result value (with line and column).</exception>
    public static ConformanceTest Parse(string text, string name)
    {
        var test = new ConformanceTest(name);
        var lines = text.Replace("\r\n", "\n").Split('\n');
        string? section = null;
        int sectionLine = 0;
        var body = new List<(int Line, string Text)>();

        void Flush()
        {
            if (section is not null)
            {
                test.Apply(section, sectionLine, body);
            }

            body.Clear();
        }

        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            string trimmed = line.Trim();
            if (trimmed.StartsWith("--", StringComparison.Ordinal))
            {
                Flush();
                string header = trimmed[2..].Trim();
                if (!KnownSections.Contains(header, StringComparer.Ordinal))
                {
                    throw new EbpfAssemblyException(i + 1, line.IndexOf("--", StringComparison.Ordinal) + 1, $"unknown section '-- {header}' (expected one of: {string.Join(", ", KnownSections)})");
                }

                section = header;
                sectionLine = i + 1;
                continue;
            }

            if (section is "c")
            {
                body.Add((i + 1, line));
                continue;
            }

            if (trimmed.StartsWith('#'))
            {
                body.Add((i + 1, string.Empty));
                continue;
            }

            if (section is null)
            {
                if (trimmed.Length != 0)
                {
                    throw new EbpfAssemblyException(i + 1, 1, "text outside any section (expected '-- asm', '-- raw', '-- mem', '-- result', ...)");
                }

                continue;
            }

            body.Add((i + 1, line));
        }

        Flush();
        return test;
    }

    private void Apply(string section, int headerLine, List<(int Line, string Text)> body)
    {
        switch (section)
        {
            case "asm":
                Asm = string.Join("\n", body.Select(b => b.Text));
                AsmFirstLine = headerLine + 1;
                break;
            case "raw":
                Raw = ParseRaw(body);
                break;
            case "mem":
                Memory = ParseHexBytes(body);
                break;
            case "result":
                Result = ParseResult(body, headerLine);
                break;
            case "error":
                Error = string.Join("\n", body.Select(b => b.Text)).Trim();
                break;
            case "no register offset":
                NoRegisterOffset = string.Join("\n", body.Select(b => b.Text)).Trim();
                break;
            case "c":
                CSource = string.Join("\n", body.Select(b => b.Text));
                break;
        }
    }

    private static byte[] ParseRaw(List<(int Line, string Text)> body)
    {
        // Each non-empty line is one slot: either a 64-bit hex word (0x...) or eight hex bytes.
        var bytes = new List<byte>();
        foreach (var (line, text) in body)
        {
            var t = text.Trim();
            if (t.Length == 0)
            {
                continue;
            }

            if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && !t.Contains(' '))
            {
                if (!ulong.TryParse(t.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong word))
                {
                    throw new EbpfAssemblyException(line, text.IndexOf(t, StringComparison.Ordinal) + 1, $"'{t}' is not a 64-bit hex word");
                }

                var slot = new byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(slot, word);
                bytes.AddRange(slot);
            }
            else
            {
                bytes.AddRange(ParseHexBytes([(line, text)]));
            }
        }

        return bytes.ToArray();
    }

    /// <summary>Parses whitespace-separated hex bytes (e.g. <c>00 01 ff</c>).</summary>
    /// <exception cref="EbpfAssemblyException">A token that is not one hex byte.</exception>
    public static byte[] ParseHexBytes(string text) => ParseHexBytes([(1, text)]);

    private static byte[] ParseHexBytes(IEnumerable<(int Line, string Text)> body)
    {
        var bytes = new List<byte>();
        foreach (var (line, text) in body)
        {
            int col = 0;
            while (col < text.Length)
            {
                if (char.IsWhiteSpace(text[col]))
                {
                    col++;
                    continue;
                }

                int start = col;
                while (col < text.Length && !char.IsWhiteSpace(text[col]))
                {
                    col++;
                }

                var token = text.AsSpan(start, col - start);
                if (token.Length > 2 || !byte.TryParse(token, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b))
                {
                    throw new EbpfAssemblyException(line, start + 1, $"'{token}' is not a hex byte (expected two hex digits such as 'a0')");
                }

                bytes.Add(b);
            }
        }

        return bytes.ToArray();
    }

    private static ulong ParseResult(List<(int Line, string Text)> body, int headerLine)
    {
        var lines = body.Where(b => b.Text.Trim().Length != 0).ToList();
        if (lines.Count != 1)
        {
            throw new EbpfAssemblyException(headerLine, 1, "the result section must hold exactly one value");
        }

        var (line, text) = lines[0];
        var t = text.Trim();
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(t.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok)
        {
            throw new EbpfAssemblyException(line, text.IndexOf(t, StringComparison.Ordinal) + 1, $"'{t}' is not a result value (expected a hex 0x... or decimal number)");
        }

        return value;
    }

    /// <summary>The test's program: its <c>asm</c> section assembled (errors positioned in the file), else its <c>raw</c> slots.</summary>
    /// <exception cref="EbpfAssemblyException">The test has neither section, or its assembly is malformed.</exception>
    /// <exception cref="EbpfDecodeException">The raw section is not a whole number of slots.</exception>
    public Instruction[] GetInstructions()
    {
        if (Asm is { } asm)
        {
            return Assembler.Assemble(asm, AsmFirstLine);
        }

        if (Raw is { } raw)
        {
            return Instruction.DecodeAll(raw);
        }

        throw new EbpfAssemblyException(1, 1, "the test has no program (expected an '-- asm' or '-- raw' section)");
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder(Name);
        if (Result is { } r)
        {
            sb.Append(CultureInfo.InvariantCulture, $" (expects 0x{r:x})");
        }

        return sb.ToString();
    }
}
