namespace Ebpf.Helpers;

/// <summary>
/// What a map lookup helper computes for one array map, so that an engine can compile the call inline: for a u32 key
/// read from the key pointer (4 bytes, checked as the helper checks it), <c>key &lt; *EntriesAddress ? ValueAddress +
/// key * ValueStride : 0</c>. Given by <see cref="Helper.InlineLookup"/> at compile time.
/// </summary>
/// <param name="ValueAddress">The address of entry 0's value (of the run's CPU for a per-CPU array).</param>
/// <param name="ValueStride">The distance between two entries' values.</param>
/// <param name="EntriesAddress">
/// The address of an aligned 64-bit word that holds the number of entries while the map can be looked up and 0 once it
/// cannot (the map was disposed), valid as long as <paramref name="ValueAddress"/>: the compiled code reads the bound
/// from it on every lookup, so an inline lookup finds nothing after the map is disposed, like the helper.
/// </param>
public sealed record ArrayLookup(ulong ValueAddress, ulong ValueStride, ulong EntriesAddress);
