using System.Runtime.InteropServices;

namespace Ebpf.Bench;

/// <summary>
/// The native reference loaded into this process: the shared library <c>LIB=PATH bench/native/run.sh</c> builds from
/// the same C sources and input generators as the native driver. It exports the driver's table of workloads
/// (<c>workloads</c>, <c>workload_count</c>: per entry the name, the function, the input length and the input filler),
/// so that native code can be timed in the same process, on the same buffer, in the same minutes as the engines.
/// </summary>
internal sealed unsafe class NativeReference : IDisposable
{
    /// <summary>The C <c>struct workload</c>: four pointer-sized fields.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Entry
    {
        public byte* Name;
        public nint Run;
        public nuint Length;
        public nint Fill;
    }

    private readonly nint library;
    private readonly Dictionary<string, (nint Run, int Length, nint Fill)> entries = new(StringComparer.Ordinal);

    private NativeReference(nint library)
    {
        this.library = library;
        var table = (Entry*)NativeLibrary.GetExport(library, "workloads");
        nuint count = *(nuint*)NativeLibrary.GetExport(library, "workload_count");
        for (nuint i = 0; i < count; i++)
        {
            var entry = table[i];
            string name = Marshal.PtrToStringUTF8((nint)entry.Name) ?? throw new InvalidOperationException($"native workload {i} has no name");
            entries[name] = (entry.Run, checked((int)entry.Length), entry.Fill);
        }
    }

    /// <summary>Loads the library at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The file is missing or is not the native reference.</exception>
    public static NativeReference Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException($"native reference library '{path}' not found (build it with LIB={path} bench/native/run.sh)");
        }

        nint handle;
        try
        {
            handle = NativeLibrary.Load(Path.GetFullPath(path));
        }
        catch (DllNotFoundException e)
        {
            throw new ArgumentException($"cannot load '{path}' as the native reference: {e.Message}");
        }

        if (!NativeLibrary.TryGetExport(handle, "workloads", out _) || !NativeLibrary.TryGetExport(handle, "workload_count", out _))
        {
            NativeLibrary.Free(handle);
            throw new ArgumentException($"'{path}' does not export the native reference's table (workloads, workload_count)");
        }

        return new NativeReference(handle);
    }

    /// <summary>
    /// The native workload <paramref name="name"/> on a fresh 64-byte-aligned buffer filled by the C filler (the one
    /// the native driver uses), after checking that the buffer equals <paramref name="managedInput"/> byte for byte.
    /// </summary>
    /// <exception cref="InvalidOperationException">The library lacks the workload, or the two inputs differ.</exception>
    public NativeInput Prepare(string name, ReadOnlySpan<byte> managedInput)
    {
        if (!entries.TryGetValue(name, out var entry))
        {
            throw new InvalidOperationException($"the native reference has no workload '{name}' (it has: {string.Join(", ", entries.Keys)})");
        }

        if (entry.Length != managedInput.Length)
        {
            throw new InvalidOperationException($"{name}: native input is {entry.Length} bytes, the managed one {managedInput.Length}");
        }

        var buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(entry.Length, 1), 64);
        ((delegate* unmanaged<byte*, nuint, void>)entry.Fill)(buffer, (nuint)entry.Length);
        if (!new ReadOnlySpan<byte>(buffer, entry.Length).SequenceEqual(managedInput))
        {
            NativeMemory.AlignedFree(buffer);
            throw new InvalidOperationException($"{name}: the native filler and WorkloadInputs produce different inputs");
        }

        return new NativeInput((delegate* unmanaged[SuppressGCTransition]<byte*, ulong, ulong>)entry.Run, buffer, entry.Length);
    }

    /// <inheritdoc />
    public void Dispose() => NativeLibrary.Free(library);

    /// <summary>A native workload and its input buffer (freed by <see cref="Dispose"/>).</summary>
    internal sealed class NativeInput(delegate* unmanaged[SuppressGCTransition]<byte*, ulong, ulong> run, byte* buffer, int length) : IDisposable
    {
        private byte* buffer = buffer;

        /// <summary>The buffer, 64-byte aligned, as the native driver allocates it.</summary>
        public byte* Buffer => buffer;

        /// <summary>Its length in bytes.</summary>
        public int Length { get; } = length;

        /// <summary>The native function (called without a GC transition, as a plain indirect call).</summary>
        public delegate* unmanaged[SuppressGCTransition]<byte*, ulong, ulong> Function { get; } = run;

        /// <inheritdoc />
        public void Dispose()
        {
            NativeMemory.AlignedFree(buffer);
            buffer = null;
        }
    }
}
