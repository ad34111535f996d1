using System.Runtime.CompilerServices;
using Ebpf.Isa;

namespace Ebpf.Interpreter;

/// <summary>
/// The atomic read-modify-write instructions. Naturally aligned addresses use <see cref="Interlocked"/>; misaligned
/// ones (accepted, as x86 lock-prefixed instructions accept them) use a plain read-modify-write with the same result.
/// The caller has already checked the whole access.
/// </summary>
internal static unsafe class Atomics
{
    /// <summary>Runs a 32-bit atomic operation on <paramref name="address"/>; updates <paramref name="src"/> or <paramref name="r0"/> for the fetching forms.</summary>
    public static void Execute32(ulong address, AtomicOperation operation, ref ulong src, ref ulong r0)
    {
        uint value = (uint)src;
        uint old;
        if ((address & 3) == 0)
        {
            ref uint cell = ref *(uint*)address;
            old = operation switch
            {
                AtomicOperation.Add or AtomicOperation.FetchAdd => Interlocked.Add(ref cell, value) - value,
                AtomicOperation.Or or AtomicOperation.FetchOr => Interlocked.Or(ref cell, value),
                AtomicOperation.And or AtomicOperation.FetchAnd => Interlocked.And(ref cell, value),
                AtomicOperation.Xor or AtomicOperation.FetchXor => Xor(ref cell, value),
                AtomicOperation.Exchange => Interlocked.Exchange(ref cell, value),
                _ => Interlocked.CompareExchange(ref cell, value, (uint)r0),
            };
        }
        else
        {
            old = Unsafe.ReadUnaligned<uint>((void*)address);
            uint? next = operation switch
            {
                AtomicOperation.Add or AtomicOperation.FetchAdd => old + value,
                AtomicOperation.Or or AtomicOperation.FetchOr => old | value,
                AtomicOperation.And or AtomicOperation.FetchAnd => old & value,
                AtomicOperation.Xor or AtomicOperation.FetchXor => old ^ value,
                AtomicOperation.Exchange => value,
                _ => old == (uint)r0 ? value : null,
            };
            if (next is { } n)
            {
                Unsafe.WriteUnaligned((void*)address, n);
            }
        }

        if (operation == AtomicOperation.CompareExchange)
        {
            r0 = old;
        }
        else if (((int)operation & 1) != 0)
        {
            src = old;
        }
    }

    /// <summary>Runs a 64-bit atomic operation on <paramref name="address"/>; updates <paramref name="src"/> or <paramref name="r0"/> for the fetching forms.</summary>
    public static void Execute64(ulong address, AtomicOperation operation, ref ulong src, ref ulong r0)
    {
        ulong value = src;
        ulong old;
        if ((address & 7) == 0)
        {
            ref ulong cell = ref *(ulong*)address;
            old = operation switch
            {
                AtomicOperation.Add or AtomicOperation.FetchAdd => Interlocked.Add(ref cell, value) - value,
                AtomicOperation.Or or AtomicOperation.FetchOr => Interlocked.Or(ref cell, value),
                AtomicOperation.And or AtomicOperation.FetchAnd => Interlocked.And(ref cell, value),
                AtomicOperation.Xor or AtomicOperation.FetchXor => Xor(ref cell, value),
                AtomicOperation.Exchange => Interlocked.Exchange(ref cell, value),
                _ => Interlocked.CompareExchange(ref cell, value, r0),
            };
        }
        else
        {
            old = Unsafe.ReadUnaligned<ulong>((void*)address);
            ulong? next = operation switch
            {
                AtomicOperation.Add or AtomicOperation.FetchAdd => old + value,
                AtomicOperation.Or or AtomicOperation.FetchOr => old | value,
                AtomicOperation.And or AtomicOperation.FetchAnd => old & value,
                AtomicOperation.Xor or AtomicOperation.FetchXor => old ^ value,
                AtomicOperation.Exchange => value,
                _ => old == r0 ? value : null,
            };
            if (next is { } n)
            {
                Unsafe.WriteUnaligned((void*)address, n);
            }
        }

        if (operation == AtomicOperation.CompareExchange)
        {
            r0 = old;
        }
        else if (((int)operation & 1) != 0)
        {
            src = old;
        }
    }

    private static uint Xor(ref uint cell, uint value)
    {
        uint old = Volatile.Read(ref cell);
        while (true)
        {
            uint seen = Interlocked.CompareExchange(ref cell, old ^ value, old);
            if (seen == old)
            {
                return old;
            }

            old = seen;
        }
    }

    private static ulong Xor(ref ulong cell, ulong value)
    {
        ulong old = Volatile.Read(ref cell);
        while (true)
        {
            ulong seen = Interlocked.CompareExchange(ref cell, old ^ value, old);
            if (seen == old)
            {
                return old;
            }

            old = seen;
        }
    }
}
