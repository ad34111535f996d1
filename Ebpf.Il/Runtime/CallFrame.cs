using System.Runtime.InteropServices;

namespace Ebpf.Il.Runtime;

/// <summary>
/// The registers handed from a caller to a compiled function and back: the caller fills r0-r10 (r10 already moved
/// down to the callee's frame); the callee reads them on entry and writes r0-r5 back on exit, so that the caller sees
/// the scratch registers the way the interpreter's shared register file leaves them.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CallFrame
{
    public ulong R0;
    public ulong R1;
    public ulong R2;
    public ulong R3;
    public ulong R4;
    public ulong R5;
    public ulong R6;
    public ulong R7;
    public ulong R8;
    public ulong R9;
    public ulong R10;
}
