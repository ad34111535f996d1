using System.Runtime.InteropServices;

namespace Ebpf.X64.Native;

/// <summary>
/// A private anonymous mapping holding generated code. It is filled while it is read+write and then turned
/// read+execute; it is never writable and executable at the same time. Released (unmapped) by
/// <see cref="SafeHandle.Dispose()"/> or, as a last resort, by the finalizer.
/// </summary>
internal sealed class ExecutableMemory : SafeHandle
{
    private static long liveMappings;

    /// <summary>An empty handle (as visible as the type, as interop marshalling of SafeHandles expects); <see cref="Create"/> maps one.</summary>
    internal ExecutableMemory()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <summary>The number of code mappings currently alive in the process.</summary>
    public static long LiveMappings => Interlocked.Read(ref liveMappings);

    /// <summary>The size of the mapping in bytes (whole pages).</summary>
    public nuint MappedLength { get; private set; }

    /// <summary>The number of code bytes at the start of the mapping.</summary>
    public int CodeLength { get; private set; }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The first byte of the code.</summary>
    public nint Address => handle;

    /// <summary>Maps fresh pages, copies <paramref name="code"/> in, then makes them read+execute.</summary>
    /// <exception cref="InvalidOperationException">mmap or mprotect failed.</exception>
    public static unsafe ExecutableMemory Create(ReadOnlySpan<byte> code)
    {
        nuint pageSize = (nuint)System.Environment.SystemPageSize;
        nuint length = ((nuint)Math.Max(code.Length, 1) + pageSize - 1) / pageSize * pageSize;
        var memory = new ExecutableMemory();
        nint address;

        // No asynchronous exception may separate the mapping from its owner.
        try
        {
        }
        finally
        {
            address = LinuxMemory.Map(0, length, LinuxMemory.ProtRead | LinuxMemory.ProtWrite, LinuxMemory.MapPrivate | LinuxMemory.MapAnonymous, -1, 0);
            if (address != LinuxMemory.MapFailed && address != 0)
            {
                memory.SetHandle(address);
                memory.MappedLength = length;
                Interlocked.Increment(ref liveMappings);
            }
        }

        if (memory.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            memory.Dispose();
            throw new InvalidOperationException($"mmap of {length} bytes for generated code failed (errno {errno})");
        }

        code.CopyTo(new Span<byte>((void*)address, code.Length));
        memory.CodeLength = code.Length;
        if (LinuxMemory.Protect(address, length, LinuxMemory.ProtRead | LinuxMemory.ProtExec) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            memory.Dispose();
            throw new InvalidOperationException($"mprotect to read+execute failed (errno {errno})");
        }

        return memory;
    }

    /// <summary>A read-only view of the code bytes.</summary>
    public unsafe ReadOnlySpan<byte> Code => IsClosed ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>((void*)handle, CodeLength);

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        bool ok = LinuxMemory.Unmap(handle, MappedLength) == 0;
        Interlocked.Decrement(ref liveMappings);
        return ok;
    }
}
