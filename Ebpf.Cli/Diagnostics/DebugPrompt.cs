using System.Globalization;
using Ebpf.Cli.Commands;
using Ebpf.Diagnostics;
using Ebpf.Isa;

namespace Ebpf.Cli.Diagnostics;

/// <summary>
/// The command loop of <c>ebpf debug</c> over an <see cref="EbpfDebugger"/>. Reads one command per line until
/// <c>quit</c> or the end of the input; a bad command prints an error line and the loop goes on.
/// </summary>
internal sealed class DebugPrompt(EbpfDebugger debugger, ProgramDebugInfo? info, TextReader input, TextWriter output, TextWriter error, bool showPrompt)
{
    /// <summary>The commands, for <c>help</c>.</summary>
    public const string Help =
        """
        commands:
          break PC | b PC          stop before the instruction at PC every time
          delete PC                remove the breakpoint at PC
          step [N] | s [N]         execute N instructions (default 1)
          continue | c             run to the next breakpoint or the end
          regs | r                 print r0-r10
          set rN VALUE             set a register (decimal or 0x hex)
          mem ADDRESS [LENGTH]     print LENGTH bytes (default 16); ADDRESS is a number or rN[+-OFFSET], e.g. r10-8
          write ADDRESS HEX        write bytes, e.g. write r10-8 01ff
          where | w                print where the run is paused
          quit | q                 end the session
        """;

    /// <summary>Starts the run on <paramref name="memory"/> and serves commands; returns the exit code (1 when the run failed).</summary>
    public int Run(byte[] memory)
    {
        debugger.Start(memory);
        Report();
        while (debugger.State == DebugState.Paused)
        {
            if (showPrompt)
            {
                output.Write("(ebpf) ");
                output.Flush();
            }

            string? line = input.ReadLine();
            if (line is null)
            {
                output.WriteLine("end of input: the run is abandoned");
                return 0;
            }

            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (words.Length == 0)
            {
                continue;
            }

            try
            {
                if (!Execute(words))
                {
                    return 0;
                }
            }
            catch (Exception e) when (e is EbpfDebuggerException or ToolException)
            {
                error.WriteLine($"error: {e.Message}");
            }
        }

        return debugger.State == DebugState.Completed ? 0 : 1;
    }

    /// <summary>Carries out one command; false for <c>quit</c>.</summary>
    private bool Execute(string[] words)
    {
        switch (words[0].ToLowerInvariant())
        {
            case "break" or "b":
                int pc = (int)Number(Argument(words, 1, "a pc"), "pc");
                debugger.AddBreakpoint(pc);
                output.WriteLine($"breakpoint at pc {pc}");
                break;
            case "delete" or "d":
                int removed = (int)Number(Argument(words, 1, "a pc"), "pc");
                output.WriteLine(debugger.RemoveBreakpoint(removed) ? $"breakpoint at pc {removed} removed" : $"no breakpoint at pc {removed}");
                break;
            case "step" or "s":
                ulong count = words.Length > 1 ? Number(words[1], "step count") : 1;
                for (ulong i = 0; i < count && debugger.Step() == DebugState.Paused; i++)
                {
                }

                Report();
                break;
            case "continue" or "c":
                debugger.Continue();
                Report();
                break;
            case "regs" or "r":
                var registers = debugger.Registers;
                for (int r = 0; r < registers.Count; r++)
                {
                    output.WriteLine($"r{r,-3} 0x{registers[r]:x16}  {(long)registers[r]}");
                }

                break;
            case "set":
                int register = Register(Argument(words, 1, "a register"));
                debugger.SetRegister(register, Number(Argument(words, 2, "a value"), "value"));
                output.WriteLine($"r{register} = 0x{debugger.GetRegister(register):x}");
                break;
            case "mem" or "x":
                ulong address = Address(Argument(words, 1, "an address"));
                int length = words.Length > 2 ? (int)Math.Min(Number(words[2], "length"), 4096) : 16;
                Dump(address, debugger.ReadMemory(address, length));
                break;
            case "write":
                ulong target = Address(Argument(words, 1, "an address"));
                byte[] bytes = Loading.HexBytes.Parse(string.Join(string.Empty, words.Skip(2)), "write");
                debugger.WriteMemory(target, bytes);
                output.WriteLine($"{bytes.Length} byte(s) written at 0x{target:x}");
                break;
            case "where" or "w":
                Report();
                break;
            case "help" or "h" or "?":
                output.Write(Help.ReplaceLineEndings(Environment.NewLine) + Environment.NewLine);
                break;
            case "quit" or "q":
                output.WriteLine("the run is abandoned");
                return false;
            default:
                throw new ToolException($"unknown command '{words[0]}' ('help' lists the commands)");
        }

        return true;
    }

    /// <summary>Prints where the run is: the paused instruction with its source line, or how the run ended.</summary>
    private void Report()
    {
        switch (debugger.State)
        {
            case DebugState.Paused:
                var code = debugger.CurrentProgram.Instructions;
                int pc = debugger.Pc;
                string text = pc + 1 < code.Length ? InstructionFormatter.Format(code[pc], code[pc + 1]) : InstructionFormatter.Format(code[pc]);
                string source = ReferenceEquals(debugger.CurrentProgram, debugger.Program) && info?.LineAt(pc) is { } line ? $"    ; {line}" : string.Empty;
                output.WriteLine($"pc {pc}: {text}{source}");
                break;
            case DebugState.Completed:
                output.WriteLine($"the run completed after {debugger.InstructionsExecuted} instruction(s): r0 = {ResultText.Format(debugger.Result!.Value)}");
                break;
            default:
                output.WriteLine($"the run failed after {debugger.InstructionsExecuted} instruction(s): {debugger.Error?.Message}");
                break;
        }
    }

    private void Dump(ulong address, byte[] bytes)
    {
        for (int i = 0; i < bytes.Length; i += 16)
        {
            var row = bytes.AsSpan(i, Math.Min(16, bytes.Length - i)).ToArray();
            output.WriteLine($"0x{address + (ulong)i:x}: {string.Join(' ', row.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)))}");
        }
    }

    private static string Argument(string[] words, int index, string what) =>
        index < words.Length ? words[index] : throw new ToolException($"'{words[0]}' needs {what}");

    private static int Register(string word) =>
        word.Length > 1 && (word[0] is 'r' or 'R') && int.TryParse(word.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int r) && r <= 10
            ? r
            : throw new ToolException($"'{word}' is not a register (r0 to r10)");

    /// <summary>A number (decimal, or hex with 0x; a leading minus for negative values, taken as 64-bit two's complement).</summary>
    private static ulong Number(string word, string what)
    {
        bool negative = word.StartsWith('-');
        string digits = negative ? word[1..] : word;
        bool ok = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(digits.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        return ok ? (negative ? (ulong)-(long)value : value) : throw new ToolException($"'{word}' is not a valid {what}");
    }

    /// <summary>An address: a number, or a register plus or minus an offset (<c>r10-8</c>).</summary>
    private ulong Address(string word)
    {
        if (word.Length > 1 && word[0] is 'r' or 'R' && char.IsAsciiDigit(word[1]))
        {
            int sign = word.IndexOfAny(['+', '-']);
            int register = Register(sign < 0 ? word : word[..sign]);
            ulong offset = sign < 0 ? 0 : Number(word[(sign + 1)..], "offset");
            return sign >= 0 && word[sign] == '-' ? debugger.GetRegister(register) - offset : debugger.GetRegister(register) + offset;
        }

        return Number(word, "address");
    }
}
