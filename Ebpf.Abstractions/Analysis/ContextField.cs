namespace Ebpf.Analysis;

/// <summary>
/// One field of a program context (<see cref="ContextLayout"/>): where it is, how wide, what a load of it gives and
/// whether the program may store to it. Loads and stores must hit a field exactly (its offset and size), as the
/// kernel requires, unless <see cref="NarrowLoads"/> allows an aligned part of a scalar field to be loaded.
/// </summary>
/// <param name="Name">The field's name (for the log and for rewriting, e.g. "data_end").</param>
/// <param name="Offset">The byte offset from the context's start.</param>
/// <param name="Size">The width in bytes as the program sees it: 1, 2, 4 or 8.</param>
/// <param name="Kind">What it holds.</param>
/// <param name="Writable">True when the program may store a number to it (only for <see cref="ContextFieldKind.Scalar"/> fields).</param>
/// <param name="NarrowLoads">True when loads of an aligned 1, 2 or 4-byte part of a scalar field are allowed too (the kernel allows them for most <c>__sk_buff</c> fields).</param>
public sealed record ContextField(string Name, int Offset, int Size, ContextFieldKind Kind = ContextFieldKind.Scalar, bool Writable = false, bool NarrowLoads = false)
{
    /// <summary>True when a load of <paramref name="size"/> bytes at <paramref name="offset"/> from the context's start reads this field (exactly, or as an allowed narrow load).</summary>
    public bool Covers(long offset, int size) =>
        (offset == Offset && size == Size)
        || (NarrowLoads && size > 0 && size < Size && offset >= Offset && offset + size <= Offset + Size && offset % size == 0);

    /// <inheritdoc />
    public override string ToString() => $"{Name} (offset {Offset}, {Size} bytes, {Kind}{(Writable ? ", writable" : string.Empty)})";
}
