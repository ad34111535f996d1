using System.Runtime.CompilerServices;

namespace Ebpf.Interpreter;

/// <summary>
/// Division and modulo with the RFC 9669 rules: division by zero gives 0, modulo by zero leaves the dividend
/// (32-bit: zero-extended), signed <c>MIN / -1</c> gives <c>MIN</c> and <c>MIN % -1</c> gives 0.
/// </summary>
internal static class Alu
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Div64(ulong a, ulong b) => b == 0 ? 0 : a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mod64(ulong a, ulong b) => b == 0 ? a : a % b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SDiv64(ulong a, ulong b) => (long)b switch
    {
        0 => 0,
        -1 => (ulong)-(long)a,
        _ => (ulong)((long)a / (long)b),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SMod64(ulong a, ulong b) => (long)b switch
    {
        0 => a,
        -1 => 0,
        _ => (ulong)((long)a % (long)b),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Div32(uint a, uint b) => b == 0 ? 0 : a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mod32(uint a, uint b) => b == 0 ? a : a % b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SDiv32(uint a, uint b) => (int)b switch
    {
        0 => 0,
        -1 => (uint)-(int)a,
        _ => (uint)((int)a / (int)b),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SMod32(uint a, uint b) => (int)b switch
    {
        0 => a,
        -1 => 0,
        _ => (uint)((int)a % (int)b),
    };
}
