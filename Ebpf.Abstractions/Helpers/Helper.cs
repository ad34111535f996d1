namespace Ebpf.Helpers;

/// <summary>A registered helper: its id (the <c>call</c> immediate), its name, and the function.</summary>
public sealed class Helper
{
    /// <summary>Creates a helper from an rbpf-style function.</summary>
    public Helper(uint id, string name, HelperFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        Id = id;
        Name = ValidName(name);
        Simple = function;
        Function = (_, a, b, c, d, e) => function(a, b, c, d, e);
    }

    /// <summary>Creates a helper from a function that receives the <see cref="HelperContext"/>.</summary>
    public Helper(uint id, string name, ContextHelperFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        Id = id;
        Name = ValidName(name);
        Function = function;
    }

    private readonly HelperSignature? signature;

    private Helper(Helper other, HelperSignature? signature)
    {
        Id = other.Id;
        Name = other.Name;
        Function = other.Function;
        Simple = other.Simple;
        InlineLookup = other.InlineLookup;
        DirectLookup = other.DirectLookup;
        TailCallTargets = other.TailCallTargets;
        Signature = signature;
    }

    /// <summary>The id programs call it by.</summary>
    public uint Id { get; }

    /// <summary>The helper's name (for listings and error messages).</summary>
    public string Name { get; }

    /// <summary>The function, in its context-taking form (rbpf-style functions are wrapped once, at registration).</summary>
    public ContextHelperFunction Function { get; }

    /// <summary>The rbpf-style function when the helper was registered as one (engines may call it directly), else null.</summary>
    public HelperFunction? Simple { get; }

    /// <summary>
    /// The argument and return kinds the proving verifier checks calls against (see <see cref="HelperSignature"/>).
    /// Null: unknown, so a strict verification rejects calls to it and a hybrid one assumes nothing about them.
    /// </summary>
    public HelperSignature? Signature
    {
        get => signature;
        init
        {
            signature = value;
            CallsBack = value?.CallsBack == true;
        }
    }

    /// <summary>
    /// For a map lookup helper (r1 a map, r2 a pointer to its key): given the environment and the map handle an
    /// <c>lddw</c> loads into r1 right before the call, the lookup an engine may compile inline instead of calling the
    /// helper (see <see cref="ArrayLookup"/>), or null to call it. Engines that compile calls inline must give the
    /// same results as the call, memory errors included; null (the default): always called.
    /// </summary>
    public Func<ProgramEnvironment, ulong, ArrayLookup?>? InlineLookup { get; init; }

    /// <summary>
    /// For a map lookup helper (r1 a map, r2 a pointer to its key) whose call is not compiled inline: given the
    /// environment and the map handle an <c>lddw</c> loads into r1 right before the call, the lookup the il and x64
    /// engines call directly instead of the helper (see <see cref="Helpers.DirectLookup"/>), or null to call the helper.
    /// The key pointer is checked as the helper checks it (<see cref="HelperContext.GetMemory"/>).
    /// </summary>
    internal Func<ProgramEnvironment, ulong, DirectLookup?>? DirectLookup { get; init; }

    /// <summary>
    /// For <c>bpf_tail_call</c> (r2 a program array, r3 the index): given the environment and the map handle an
    /// <c>lddw</c> loads into r2 right before the call, the targets an engine may enter itself instead of calling the
    /// helper (see <see cref="Helpers.TailCallTargets"/>), or null to call the helper.
    /// </summary>
    internal Func<ProgramEnvironment, ulong, TailCallTargets?>? TailCallTargets { get; init; }

    /// <summary>Whether the signature declares a function argument (see <see cref="HelperSignature.CallsBack"/>), kept for the engines' call paths.</summary>
    internal bool CallsBack { get; private init; }

    /// <summary>A copy of this helper with <paramref name="signature"/> declared.</summary>
    public Helper WithSignature(HelperSignature? signature) => new(this, signature);

    /// <inheritdoc />
    public override string ToString() => $"{Id} {Name}";

    private static string ValidName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return name;
    }
}
