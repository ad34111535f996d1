using System.Collections.Immutable;

namespace Ebpf.Analysis;

/// <summary>
/// The layout of a program context (e.g. an XDP <c>xdp_md</c> or a made-up host structure) for the safety analysis:
/// with a layout in the <see cref="SafetyContext"/>, r1 at entry is a pointer to the context (and r2-r5 are
/// uninitialised, as in the kernel); loads and stores through it must hit a field exactly, and loads of the packet
/// fields give packet pointers whose range comparisons with the packet end prove, as the kernel does with
/// <c>data_end</c>. The packet is the input memory of the run; the host that runs the program must give it context
/// memory of at least <see cref="Size"/> bytes in which the packet fields hold the packet's addresses (or rewrite the
/// loads, see <see cref="SafetyAnalysis.ContextFieldAt"/>).
/// </summary>
public sealed class ContextLayout
{
    private readonly ContextField?[] byOffset;

    private readonly ContextLayout? tcpSocket;

    /// <summary>Creates a layout.</summary>
    /// <param name="name">The context's name (for the log, e.g. "xdp_md").</param>
    /// <param name="size">The context's size in bytes (1-65536).</param>
    /// <param name="fields">The fields: inside the context, not overlapping, sizes 1, 2, 4 or 8 (raw byte fields: 1-64), only scalar fields writable, pointer fields without narrow loads or raw bytes.</param>
    /// <exception cref="ArgumentException">A field breaks one of those rules, or two share a name.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is out of range.</exception>
    public ContextLayout(string name, int size, IEnumerable<ContextField> fields)
        : this(name, size, fields, null, null)
    {
    }

    /// <summary>Creates a layout whose <see cref="ContextFieldKind.Socket"/> fields point at a socket.</summary>
    /// <param name="name">The context's name.</param>
    /// <param name="size">The context's size in bytes (1-65536).</param>
    /// <param name="fields">The fields, with the rules of <see cref="ContextLayout(string, int, IEnumerable{ContextField})"/>; 8-byte <see cref="ContextFieldKind.Socket"/> fields only with both socket layouts.</param>
    /// <param name="socket">The fields a socket pointer (<see cref="ValueKind.Socket"/>) may load: its own <see cref="ContextLayout"/> of scalar, read-only fields.</param>
    /// <param name="fullSocket">The fields a full socket pointer (<see cref="ValueKind.FullSocket"/>) may load.</param>
    /// <exception cref="ArgumentException">A field breaks one of the rules, a socket field has no socket layouts, or a socket layout has a field that is not a read-only number.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is out of range.</exception>
    public ContextLayout(string name, int size, IEnumerable<ContextField> fields, ContextLayout? socket, ContextLayout? fullSocket)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 65536);
        Name = name;
        Size = size;
        Fields = [.. fields.OrderBy(f => f?.Offset ?? -1)];
        byOffset = new ContextField?[size];
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in Fields)
        {
            if (Problem(field, size, names) is { } problem)
            {
                throw new ArgumentException(problem, nameof(fields));
            }

            for (int i = field.Offset; i < field.Offset + field.Size; i++)
            {
                if (byOffset[i] is { } other)
                {
                    throw new ArgumentException($"context fields {other.Name} and {field.Name} overlap at offset {i}", nameof(fields));
                }

                byOffset[i] = field;
            }
        }

        if (Fields.Any(f => f.Kind == ContextFieldKind.Socket) && (socket is null || fullSocket is null))
        {
            throw new ArgumentException("a layout with a socket field needs the socket layouts (what a socket pointer may load)", nameof(fields));
        }

        RequireReadOnlyNumbers(socket, nameof(socket));
        RequireReadOnlyNumbers(fullSocket, nameof(socket));

        Socket = socket;
        FullSocket = fullSocket;
    }

    /// <summary>What a socket pointer (<see cref="ValueKind.Socket"/>, from a <see cref="ContextFieldKind.Socket"/> field compared with 0) may load, null when the context has no socket.</summary>
    public ContextLayout? Socket { get; }

    /// <summary>What a full socket pointer (<see cref="ValueKind.FullSocket"/>, e.g. from <c>bpf_sk_fullsock</c>) may load, null when the context has no socket.</summary>
    public ContextLayout? FullSocket { get; }

    /// <summary>
    /// What a TCP socket pointer (<see cref="ValueKind.TcpSocket"/>, from <c>bpf_tcp_sock</c> compared with 0) may load,
    /// null when the context offers none: a layout of read-only numbers, as <see cref="Socket"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The layout has a field that is not a read-only number.</exception>
    public ContextLayout? TcpSocket
    {
        get => tcpSocket;
        init
        {
            RequireReadOnlyNumbers(value, nameof(value));
            tcpSocket = value;
        }
    }

    /// <summary>Throws when the socket layout <paramref name="target"/> (if any) has a field that is not a read-only number.</summary>
    private static void RequireReadOnlyNumbers(ContextLayout? target, string parameter)
    {
        if (target?.Fields.FirstOrDefault(f => f.Kind != ContextFieldKind.Scalar || f.Writable) is { } bad)
        {
            throw new ArgumentException($"socket layout {target.Name}: field {bad.Name} must be a read-only number", parameter);
        }
    }

    /// <summary>The context's name.</summary>
    public string Name { get; }

    /// <summary>The context's size in bytes.</summary>
    public int Size { get; }

    /// <summary>The fields, by offset.</summary>
    public ImmutableArray<ContextField> Fields { get; }

    /// <summary>True when a field gives packet pointers (so helpers that change packet data invalidate them).</summary>
    public bool HasPacket => Fields.Any(f => f.Kind is ContextFieldKind.PacketStart or ContextFieldKind.PacketEnd or ContextFieldKind.PacketMeta);

    /// <summary>The field a load of <paramref name="size"/> bytes at <paramref name="offset"/> hits, or null when it hits none as the field allows (see <see cref="ContextField.Covers(long, int, bool)"/>).</summary>
    public ContextField? FieldAt(long offset, int size) => FieldAt(offset, size, store: false);

    /// <summary>
    /// The field a load (or, with <paramref name="store"/>, a store) of <paramref name="size"/> bytes at
    /// <paramref name="offset"/> hits, or null when it hits none as the field allows (see
    /// <see cref="ContextField.Covers(long, int, bool)"/>; whether the field is writable is not looked at).
    /// </summary>
    public ContextField? FieldAt(long offset, int size, bool store) =>
        offset >= 0 && offset < Size && byOffset[offset] is { } field && field.Covers(offset, size, store) ? field : null;

    /// <summary>
    /// Why a load (or, with <paramref name="store"/>, a store) of <paramref name="size"/> bytes at
    /// <paramref name="offset"/> is not allowed (e.g. "2 bytes at offset 8 does not match field mark (offset 8, 4
    /// bytes) of __sk_buff; a store writes a whole field"), null when it is: the one rule the safety analysis and a
    /// host's load-time checks both apply.
    /// </summary>
    public string? Refusal(long offset, int size, bool store)
    {
        if (FieldAt(offset, size, store) is { } field)
        {
            return store && !field.Writable ? $"field {field.Name} of {Name} is read-only" : null;
        }

        string access = $"{Bytes(size)} at offset {offset}";
        if (offset < 0 || offset > Size - size)
        {
            return $"{access} is outside the {Size}-byte {Name}";
        }

        var touched = Fields.Where(f => f.Offset < offset + size && offset < f.Offset + f.Size).ToList();
        if (touched.Count == 0)
        {
            return $"{access} is not a field of {Name}";
        }

        if (store && touched is [{ Writable: false } readOnly])
        {
            return $"field {readOnly.Name} of {Name} is read-only";
        }

        string which = string.Join(" and ", touched.Select(f => $"{f.Name} (offset {f.Offset}, {Bytes(f.Size)})"));
        string rule = store && touched.Count == 1 && FieldAt(offset, size, store: false) is not null
            ? "a store writes a whole field"
            : "accesses must hit a field exactly";
        return $"{access} does not match field {which} of {Name}; {rule}";
    }

    /// <summary>"1 byte" or "N bytes".</summary>
    internal static string Bytes(int size) => size == 1 ? "1 byte" : $"{size} bytes";

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Size} bytes, {Fields.Length} fields)";

    private static string? Problem(ContextField? field, int size, HashSet<string> names)
    {
        if (field is null)
        {
            return "a context field is null";
        }

        string where = $"context field {field.Name}";
        return field switch
        {
            _ when string.IsNullOrEmpty(field.Name) || !names.Add(field.Name) => $"{where}: every field needs a distinct, non-empty name",
            _ when !field.RawBytes && field.Size is not (1 or 2 or 4 or 8) => $"{where}: the size must be 1, 2, 4 or 8 bytes, not {field.Size}",
            _ when field.RawBytes && field.Size is < 1 or > 64 => $"{where}: a field of raw bytes has 1 to 64 of them, not {field.Size}",
            _ when field.Offset < 0 || (long)field.Offset + field.Size > size => $"{where}: offset {field.Offset} + {field.Size} bytes lies outside the {size}-byte context",
            _ when !Enum.IsDefined(field.Kind) => $"{where}: {field.Kind} is not a field kind",
            _ when field.Kind == ContextFieldKind.Socket && (field.Size != 8 || field.Writable || field.NarrowLoads || field.RawBytes) => $"{where}: a socket pointer field is 8 bytes, neither writable nor loadable in parts",
            _ when field.Kind != ContextFieldKind.Scalar && (field.Writable || field.NarrowLoads || field.RawBytes) => $"{where}: a packet pointer field is neither writable nor loadable in parts",
            _ when !Enum.IsDefined(field.Narrow) => $"{where}: {field.Narrow} is not a narrow-load placement",
            _ => null,
        };
    }
}
