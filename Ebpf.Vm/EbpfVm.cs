using Ebpf.Helpers;
using Ebpf.Interpreter;

namespace Ebpf.Vm;

/// <summary>
/// What rbpf's four VM kinds share: the loaded program, the verifier it must pass, the helpers and allowed memory it
/// may use, and two compiled forms: the interpreted one (<c>ExecuteProgram</c>, compiled on first use) and the one of
/// <see cref="JitCompile"/> (<c>ExecuteProgramJit</c>), made by <see cref="JitEngine"/>. Configure it from one thread
/// (like rbpf's <c>&amp;mut self</c> methods); once configured, runs may happen concurrently (the fixed-mbuff VM
/// serialises its runs, as they share its buffer). Dispose it to release the compiled programs.
/// </summary>
public abstract class EbpfVm : IDisposable
{
    private readonly InterpreterEngine interpreter;
    private readonly object gate = new();
    private IVerifier verifier = Ebpf.Verification.Verifier.Default;
    private ICompiledProgram? interpreted;
    private ICompiledProgram? jitted;
    private bool disposed;

    /// <summary>Creates a VM, loading <paramref name="program"/> when it is not null.</summary>
    /// <param name="program">The bytecode (8 bytes per slot), or null to load one later.</param>
    /// <param name="jitEngine">The engine <see cref="JitCompile"/> uses; the interpreter when null.</param>
    /// <param name="options">The execution options; the defaults when null.</param>
    /// <exception cref="EbpfException">The program does not decode or verify.</exception>
    protected EbpfVm(byte[]? program, IExecutionEngine? jitEngine, ExecutionOptions? options)
    {
        interpreter = new InterpreterEngine();
        JitEngine = jitEngine ?? interpreter;
        Options = (options ?? ExecutionOptions.Default).Validate();
        if (program is not null)
        {
            Load(program);
        }
    }

    /// <summary>The loaded program, or null.</summary>
    public EbpfProgram? Program { get; private set; }

    /// <summary>The engine of <see cref="JitCompile"/> and <c>ExecuteProgramJit</c>.</summary>
    public IExecutionEngine JitEngine { get; }

    /// <summary>The verifier programs must pass (rbpf's default verifier unless replaced).</summary>
    public IVerifier Verifier => verifier;

    /// <summary>The helpers and allowed regions programs of this VM can reach.</summary>
    public ProgramEnvironment Environment { get; } = new();

    /// <summary>The execution options (stack size, call depth, budget, ...).</summary>
    public ExecutionOptions Options { get; }

    /// <summary>True once <see cref="JitCompile"/> has compiled the current program with the current helpers.</summary>
    public bool IsJitCompiled => jitted is not null;

    /// <summary>
    /// Replaces the verifier. When a program is loaded, the new verifier checks it first; if it rejects the program,
    /// the exception propagates and the old verifier stays (rbpf's <c>set_verifier</c>).
    /// </summary>
    /// <exception cref="EbpfVerificationException">The loaded program does not pass the new verifier.</exception>
    public void SetVerifier(IVerifier newVerifier)
    {
        ArgumentNullException.ThrowIfNull(newVerifier);
        ThrowIfDisposed();
        if (Program is not null)
        {
            EbpfProgram.Create(Program.Instructions.AsSpan(), newVerifier);
        }

        verifier = newVerifier;
    }

    /// <summary>Registers (or replaces) a helper under <paramref name="id"/> (rbpf's <c>register_helper</c>). A JIT-compiled program must be compiled again.</summary>
    public void RegisterHelper(uint id, HelperFunction function) => RegisterHelper(new Helper(id, $"helper_{id}", function));

    /// <summary>Registers (or replaces) a helper that receives the run's <see cref="HelperContext"/>. A JIT-compiled program must be compiled again.</summary>
    public void RegisterHelper(uint id, string name, ContextHelperFunction function) => RegisterHelper(new Helper(id, name, function));

    /// <summary>Registers (or replaces) a helper. A JIT-compiled program must be compiled again.</summary>
    public void RegisterHelper(Helper helper)
    {
        ArgumentNullException.ThrowIfNull(helper);
        ThrowIfDisposed();
        Environment.Helpers.Set(helper);
        Invalidate();
    }

    /// <summary>
    /// Allows programs to read (and, when <paramref name="writable"/>, write) <c>[address, address + length)</c>, e.g. an
    /// object a helper returns a pointer to. Unlike rbpf, which checks only the first byte of an access against its
    /// allowed addresses, every byte of each access must lie inside one region. The memory must stay at this address
    /// (pinned or native) for as long as programs may use it.
    /// </summary>
    public void RegisterAllowedMemory(ulong address, ulong length, bool writable = true)
    {
        ThrowIfDisposed();
        Environment.AddRegion(new MemoryRegion(address, length, MemoryRegionKind.Allowed, writable));
    }

    /// <summary>Compiles the loaded program with <see cref="JitEngine"/> (rbpf's <c>jit_compile</c>); register helpers first.</summary>
    /// <exception cref="InvalidOperationException">No program is loaded.</exception>
    /// <exception cref="EbpfException">The engine cannot compile it (e.g. an unknown helper, or the engine is unavailable).</exception>
    public void JitCompile()
    {
        ThrowIfDisposed();
        var program = Program ?? throw new InvalidOperationException("no program is loaded");
        var compiled = JitEngine.Compile(program, Environment, Options);
        jitted?.Dispose();
        jitted = compiled;
    }

    /// <summary>Releases the compiled programs.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the compiled programs when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposed && disposing)
        {
            Invalidate();
        }

        disposed = true;
    }

    /// <summary>Decodes and verifies <paramref name="program"/>, then makes it the loaded program.</summary>
    /// <exception cref="EbpfException">The program does not decode or verify.</exception>
    protected void Load(byte[] program)
    {
        ArgumentNullException.ThrowIfNull(program);
        ThrowIfDisposed();
        var loaded = EbpfProgram.Create(program, verifier);
        Invalidate();
        Program = loaded;
    }

    /// <summary>The interpreted form of the loaded program (compiled on first use).</summary>
    /// <exception cref="InvalidOperationException">No program is loaded.</exception>
    protected ICompiledProgram Interpreted()
    {
        ThrowIfDisposed();
        lock (gate)
        {
            return interpreted ??= interpreter.Compile(Program ?? throw new InvalidOperationException("no program is loaded"), Environment, Options);
        }
    }

    /// <summary>The form <see cref="JitCompile"/> made.</summary>
    /// <exception cref="InvalidOperationException"><see cref="JitCompile"/> has not been called since the program or the helpers changed.</exception>
    protected ICompiledProgram Jitted()
    {
        ThrowIfDisposed();
        return jitted ?? throw new InvalidOperationException("the program has not been JIT-compiled (call JitCompile after loading the program and registering its helpers)");
    }

    private void Invalidate()
    {
        interpreted?.Dispose();
        interpreted = null;
        jitted?.Dispose();
        jitted = null;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);
}
