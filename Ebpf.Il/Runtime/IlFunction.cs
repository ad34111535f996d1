using Ebpf.Execution;

namespace Ebpf.Il.Runtime;

/// <summary>A compiled eBPF function, closed over its <see cref="IlClosure"/>: returns r0.</summary>
/// <param name="state">The run state.</param>
/// <param name="frame">The registers on entry; r0-r5 on exit.</param>
/// <param name="depth">The number of frames including this one (the entry function is 1).</param>
internal unsafe delegate ulong IlFunction(RunState* state, CallFrame* frame, int depth);

/// <summary>
/// The direct entry of a program (see <see cref="DirectEntry"/>), closed over its <see cref="IlClosure"/>: r1 and r2
/// in, r0 out, no run state and no register frame.
/// </summary>
/// <param name="r1">The input's first byte (0 when it is empty).</param>
/// <param name="r2">The input's length.</param>
internal delegate ulong IlDirectFunction(ulong r1, ulong r2);
