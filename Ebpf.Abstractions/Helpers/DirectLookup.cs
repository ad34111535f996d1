namespace Ebpf.Helpers;

/// <summary>
/// What a map lookup helper does for one map whose lookup an engine may call directly, without the helper's call
/// path (no <see cref="HelperContext"/>, no look-up of the map by its handle on every call): given the key bytes
/// (<see cref="KeySize"/> of them, already checked as the helper checks them), the address of the value or 0, exactly
/// as the helper computes it. Given by <see cref="Helper.DirectLookup"/> at compile time, for maps whose lookup is not
/// compiled inline (see <see cref="ArrayLookup"/>).
/// </summary>
internal abstract class DirectLookup
{
    /// <summary>Creates a lookup for keys of <paramref name="keySize"/> bytes.</summary>
    protected DirectLookup(int keySize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keySize);
        KeySize = keySize;
    }

    /// <summary>The number of key bytes the helper reads (and checks) at its key pointer.</summary>
    public int KeySize { get; }

    /// <summary>The address of the value of <paramref name="key"/> the helper returns, or 0 (absent, or the map is disposed).</summary>
    public abstract ulong Find(ReadOnlySpan<byte> key);

    /// <summary>
    /// Where the map's key index and values live, for an engine that walks the index in its own machine code (falling
    /// back to <see cref="Find"/> where the layout's protocol says so), or null when only <see cref="Find"/> may be used.
    /// </summary>
    public virtual HashLookupLayout? Layout => null;
}
