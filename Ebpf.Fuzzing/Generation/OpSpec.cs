namespace Ebpf.Fuzzing.Generation;

/// <summary>
/// One generated operation in raw form: the fields are arbitrary numbers that <see cref="ProgramGenerator.Lower"/>
/// maps onto a valid instruction (by modulo), so that shrinking any field keeps the program valid.
/// </summary>
/// <param name="Kind">The family.</param>
/// <param name="Variant">Chooses the form within the family.</param>
/// <param name="Dst">Chooses the destination register.</param>
/// <param name="Src">Chooses the source register.</param>
/// <param name="Offset">Chooses the offset.</param>
/// <param name="Imm">The immediate.</param>
/// <param name="Wide">The 64-bit value of an <c>lddw</c>.</param>
/// <param name="Target">Chooses the jump target.</param>
public readonly record struct OpSpec(OpKind Kind, int Variant, int Dst, int Src, int Offset, int Imm, long Wide, int Target);
