using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ebpf.X64.Abi;

/// <summary>The System V AMD64 calling convention (Linux): arguments in rdi, rsi; rbx, rbp, r12-r15 preserved.</summary>
internal sealed class SystemVAbi : INativeAbi
{
    /// <summary>The registers a System V function must preserve, in the order the prologue pushes them.</summary>
    private static readonly AssemblerRegister64[] CalleeSaved = [rbx, rbp, r12, r13, r14, r15];

    /// <summary>The one instance.</summary>
    public static SystemVAbi Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "System V AMD64";

    /// <inheritdoc />
    public AssemblerRegister64 FirstArgument => rdi;

    /// <inheritdoc />
    public AssemblerRegister64 SecondArgument => rsi;

    /// <inheritdoc />
    public AssemblerRegister64 SecondReturn => rdx;

    /// <inheritdoc />
    public void EmitPrologue(Assembler assembler, IReadOnlySet<Register> written, bool alignStack)
    {
        // Entered with rsp = 8 (mod 16); an even number of pushes keeps it 8 (mod 16) for calls out of the code.
        Push(assembler, Saved(written, alignStack));
        assembler.mov(r12, FirstArgument);
    }

    /// <inheritdoc />
    public void EmitEpilogue(Assembler assembler, IReadOnlySet<Register> written, bool alignStack)
    {
        var saved = Saved(written, alignStack);
        for (int i = saved.Count - 1; i >= 0; i--)
        {
            assembler.pop(saved[i]);
        }

        assembler.ret();
    }

    /// <inheritdoc />
    public void EmitDispatcherCall(Assembler assembler, ulong function, int site)
    {
        assembler.mov(FirstArgument, r12);
        assembler.mov(esi, site);
        assembler.mov(r11, function);
        assembler.call(r11);
    }

    /// <inheritdoc />
    /// <remarks>r1 and r2 live in rdi and rsi, the first two argument registers: nothing moves.</remarks>
    public void EmitDirectPrologue(Assembler assembler, IReadOnlySet<Register> written) => Push(assembler, Saved(written, alignStack: false));

    /// <inheritdoc />
    /// <remarks>A structure of two INTEGER eightbytes comes back in rax and rdx.</remarks>
    public void EmitDirectEpilogue(Assembler assembler, IReadOnlySet<Register> written) => EmitEpilogue(assembler, written, alignStack: false);

    private static void Push(Assembler assembler, List<AssemblerRegister64> saved)
    {
        foreach (var register in saved)
        {
            assembler.push(register);
        }
    }

    /// <summary>
    /// The callee-saved registers among <paramref name="written"/>, plus, with <paramref name="alignStack"/>, the first
    /// unwritten one when their number is odd (pushing it changes nothing and keeps the stack aligned).
    /// </summary>
    private static List<AssemblerRegister64> Saved(IReadOnlySet<Register> written, bool alignStack)
    {
        var saved = CalleeSaved.Where(r => written.Contains(r.Value)).ToList();
        if (alignStack && saved.Count % 2 != 0)
        {
            saved.Add(CalleeSaved.First(r => !written.Contains(r.Value)));
        }

        return saved;
    }
}
