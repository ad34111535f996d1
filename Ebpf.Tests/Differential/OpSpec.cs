namespace Ebpf.Tests.Differential;

/// <summary>
/// One generated operation in raw form: the fields are arbitrary numbers that <see cref="ProgramGenerator.Lower"/>
/// maps onto a valid instruction (by modulo), so that shrinking any field keeps the program valid.
/// </summary>
public readonly record struct OpSpec(OpKind Kind, int Variant, int Dst, int Src, int Offset, int Imm, long Wide, int Target);
