using Ebpf.Execution;

namespace Ebpf.Il.Runtime;

/// <summary>
/// One chunk of a long compiled function, closed over its <see cref="IlClosure"/>: runs from entry
/// <paramref name="entry"/> until control leaves the chunk, with the registers in <paramref name="frame"/> on entry
/// and on leaving. Returns the pc to continue at, or <see cref="ChunkedFunction.Exit"/> (r0-r5 in the frame) or
/// <see cref="ChunkedFunction.Stop"/> (a helper asked the run to stop).
/// </summary>
/// <param name="state">The run state.</param>
/// <param name="frame">The function's registers.</param>
/// <param name="depth">The number of frames including this one.</param>
/// <param name="entry">The index of the entry among the chunk's entries.</param>
internal unsafe delegate ulong IlChunk(RunState* state, CallFrame* frame, int depth, int entry);
