namespace Ebpf.Analysis;

/// <summary>
/// One field of a program context (<see cref="ContextLayout"/>): where it is, how wide, what a load of it gives and
/// whether the program may store to it. Loads and stores must hit a field exactly (its offset and size), as the
/// kernel requires, unless <see cref="NarrowLoads"/> allows an aligned part of a scalar field to be loaded or
/// <see cref="RawBytes"/> makes the field a run of bytes any aligned access inside which is allowed.
/// </summary>
/// <param name="Name">The field's name (for the log and for rewriting, e.g. "data_end").</param>
/// <param name="Offset">The byte offset from the context's start.</param>
/// <param name="Size">The width in bytes as the program sees it: 1, 2, 4 or 8 (with <paramref name="RawBytes"/>, any width up to 64).</param>
/// <param name="Kind">What it holds.</param>
/// <param name="Writable">True when the program may store a number to it (only for <see cref="ContextFieldKind.Scalar"/> fields). A store writes the whole field, unless <paramref name="RawBytes"/> says otherwise.</param>
/// <param name="NarrowLoads">True when loads of an aligned 1, 2 or 4-byte part of a scalar field are allowed too (the kernel allows them for most <c>__sk_buff</c> fields); stores still write the whole field.</param>
/// <param name="RawBytes">
/// True when the field is a run of bytes (as <c>__sk_buff.cb</c>): a load, or a store when it is writable, of 1, 2, 4
/// or 8 bytes anywhere inside it, aligned to its size, is allowed and gives (or stores) a number of that width.
/// </param>
/// <param name="Narrow">Where inside the field a narrow load may read, with <paramref name="NarrowLoads"/> (default: any aligned part).</param>
public sealed record ContextField(
    string Name, int Offset, int Size, ContextFieldKind Kind = ContextFieldKind.Scalar, bool Writable = false, bool NarrowLoads = false, bool RawBytes = false, NarrowLoadPlacement Narrow = NarrowLoadPlacement.Anywhere)
{
    /// <summary>True when a load of <paramref name="size"/> bytes at <paramref name="offset"/> from the context's start reads this field (exactly, or as an allowed narrow load).</summary>
    public bool Covers(long offset, int size) => Covers(offset, size, store: false);

    /// <summary>
    /// True when a load (or, with <paramref name="store"/>, a store) of <paramref name="size"/> bytes at
    /// <paramref name="offset"/> from the context's start hits this field as it allows: exactly, as an aligned narrow
    /// load of a field with <see cref="NarrowLoads"/>, or as an aligned access inside a field of <see cref="RawBytes"/>.
    /// Whether the field may be stored to at all is <see cref="Writable"/>'s to say.
    /// </summary>
    public bool Covers(long offset, int size, bool store)
    {
        if (offset == Offset && size == Size)
        {
            return true;
        }

        bool inside = size is 1 or 2 or 4 or 8 && offset >= Offset && offset + size <= Offset + Size && offset % size == 0;
        return inside && (RawBytes || (NarrowLoads && !store && size < Size && Narrow switch
        {
            NarrowLoadPlacement.AtStart => offset == Offset,
            NarrowLoadPlacement.FirstHalf => offset + size <= Offset + (Size / 2),
            _ => true,
        }));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} (offset {Offset}, {Size} bytes, {Kind}{(Writable ? ", writable" : string.Empty)})";
}
