using Ebpf.Execution;

namespace Ebpf.Il.Runtime;

/// <summary>A compiled eBPF function, closed over its <see cref="IlClosure"/>: returns r0.</summary>
/// <param name="state">The run state.</param>
/// <param name="frame">The registers on entry; r0-r5 on exit.</param>
/// <param name="depth">The number of frames including this one (the entry function is 1).</param>
internal unsafe delegate ulong IlFunction(RunState* state, CallFrame* frame, int depth);

