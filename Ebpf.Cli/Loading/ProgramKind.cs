namespace Ebpf.Cli.Loading;

/// <summary>What a program file holds.</summary>
internal enum ProgramKind
{
    /// <summary>Raw bytecode (8 bytes per slot).</summary>
    Bytecode,

    /// <summary>Assembly text (<c>.s</c>, <c>.asm</c>).</summary>
    Assembly,

    /// <summary>A bpf_conformance test (<c>.data</c>): a program, its memory and the expected result.</summary>
    ConformanceData,

    /// <summary>An ELF object compiled for BPF (<c>.o</c>).</summary>
    Elf,
}
