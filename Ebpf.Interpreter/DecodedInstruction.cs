using System.Runtime.InteropServices;

namespace Ebpf.Interpreter;

/// <summary>
/// One pre-decoded slot (16 bytes). Its meaning depends on <see cref="Op"/>: <see cref="Target"/> is the absolute
/// target of a jump or local call, the offset of a memory access, or the index of a helper; <see cref="Imm"/> is the
/// immediate already sign-extended (or masked, for shifts), the full value of an <c>lddw</c>, or the atomic
/// <see cref="Isa.Operation"/>; <see cref="WriteBack"/> is the register an atomic operation returns the old value to
/// (0xff: none).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DecodedInstruction
{
    public Op Op;
    public byte Dst;
    public byte Src;
    public byte WriteBack;
    public int Target;
    public long Imm;
}
