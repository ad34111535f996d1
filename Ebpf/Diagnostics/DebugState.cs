namespace Ebpf.Diagnostics;

/// <summary>Where an <see cref="EbpfDebugger"/> session is.</summary>
public enum DebugState
{
    /// <summary><see cref="EbpfDebugger.Start"/> has not been called.</summary>
    NotStarted,

    /// <summary>Stopped before an instruction: registers and memory can be read and written.</summary>
    Paused,

    /// <summary>The run returned; <see cref="EbpfDebugger.Result"/> holds r0.</summary>
    Completed,

    /// <summary>The run failed; <see cref="EbpfDebugger.Error"/> holds why.</summary>
    Failed,

    /// <summary>The session was disposed while paused: the run was ended where it stood.</summary>
    Abandoned,
}
