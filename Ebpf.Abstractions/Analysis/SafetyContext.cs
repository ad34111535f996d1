using System.Collections.Frozen;
using Ebpf.Helpers;

namespace Ebpf.Analysis;

/// <summary>
/// What the safety analysis assumes about the world outside the program: the helpers (by id, with their signatures
/// when declared), the maps <c>lddw</c> pseudo sources name, the stack frame size, the call depth limit and, optionally,
/// the program context's layout. Without a layout the memory model is the raw one: at entry r1 points at the input
/// and r2 holds its length (README, "The memory model"). With a <see cref="ContextLayout"/>, r1 points at the context
/// and only r1 and r10 are set, as in the kernel; the packet the context's packet fields point at is the input.
/// </summary>
public sealed class SafetyContext
{
    private readonly FrozenDictionary<uint, HelperSignature?> helpers;

    /// <summary>Creates a context.</summary>
    /// <param name="helpers">The helpers that exist, with their signatures (null: unknown signature).</param>
    /// <param name="maps">Describes maps named by <c>lddw</c> pseudo sources (null: none known).</param>
    /// <param name="stackSize">The stack frame size in bytes (a multiple of 8, 8-65536).</param>
    /// <param name="maxCallDepth">The deepest local-call nesting allowed.</param>
    /// <param name="layout">The program context's layout (null: the raw memory model, r1 = input, r2 = its length).</param>
    public SafetyContext(IEnumerable<KeyValuePair<uint, HelperSignature?>>? helpers = null, MapShapeResolver? maps = null, int stackSize = 512, int maxCallDepth = 8, ContextLayout? layout = null)
    {
        new ExecutionOptions { StackSize = stackSize, MaxCallDepth = maxCallDepth }.Validate();
        this.helpers = (helpers ?? []).ToFrozenDictionary();
        Maps = maps;
        StackSize = stackSize;
        MaxCallDepth = maxCallDepth;
        Layout = layout;
    }

    /// <summary>The program context's layout, or null for the raw memory model.</summary>
    public ContextLayout? Layout { get; }

    /// <summary>Describes the maps of <c>lddw</c> pseudo sources, if known.</summary>
    public MapShapeResolver? Maps { get; }

    /// <summary>The stack frame size in bytes.</summary>
    public int StackSize { get; }

    /// <summary>The deepest local-call nesting allowed.</summary>
    public int MaxCallDepth { get; }

    /// <summary>The context of programs compiled with <paramref name="environment"/> and <paramref name="options"/>: a snapshot of its helpers and its map describer, with the program context's <paramref name="layout"/> if given.</summary>
    public static SafetyContext For(ProgramEnvironment environment, ExecutionOptions? options = null, ContextLayout? layout = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var o = options ?? ExecutionOptions.Default;
        return new SafetyContext(
            environment.Helpers.Select(h => KeyValuePair.Create(h.Id, h.Signature)), environment.MapShapes, o.StackSize, o.MaxCallDepth, layout);
    }

    /// <summary>The same world with another program context layout (the helper snapshot and map describer shared).</summary>
    internal SafetyContext WithLayout(ContextLayout? layout) => new(helpers, Maps, StackSize, MaxCallDepth, layout);

    /// <summary>
    /// True when <paramref name="other"/> describes the same world as this: the same helper ids with the same signature
    /// objects, the same map describer, stack size and call depth, and the same layout object; an analysis of a program
    /// under one is then its analysis under the other (see <see cref="AnalysisResults.HandOn"/>).
    /// </summary>
    internal bool SameWorld(SafetyContext other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (StackSize != other.StackSize || MaxCallDepth != other.MaxCallDepth || !ReferenceEquals(Layout, other.Layout) || !ReferenceEquals(Maps, other.Maps) || helpers.Count != other.helpers.Count)
        {
            return false;
        }

        foreach (var (id, signature) in helpers)
        {
            if (!other.helpers.TryGetValue(id, out var theirs) || !ReferenceEquals(signature, theirs))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when a helper has this id; <paramref name="signature"/> is its declared signature, if any.</summary>
    public bool TryGetHelper(uint id, out HelperSignature? signature) => helpers.TryGetValue(id, out signature);
}
