using System.Runtime.CompilerServices;

namespace Ebpf.Il.Runtime;

/// <summary>
/// The atomic read-modify-write operations of eBPF on a checked address. Naturally aligned addresses use
/// <see cref="Interlocked"/>; unaligned ones a plain read-modify-write (as the interpreter does), with the same result.
/// Every method returns the value the memory held before.
/// </summary>
internal static unsafe class AtomicOps
{
    public static ulong Add64(ulong address, ulong value)
    {
        if ((address & 7) == 0)
        {
            return Interlocked.Add(ref *(ulong*)address, value) - value;
        }

        ulong old = Unsafe.ReadUnaligned<ulong>((void*)address);
        Unsafe.WriteUnaligned((void*)address, old + value);
        return old;
    }

    public static ulong Or64(ulong address, ulong value)
    {
        if ((address & 7) == 0)
        {
            return Interlocked.Or(ref *(ulong*)address, value);
        }

        ulong old = Unsafe.ReadUnaligned<ulong>((void*)address);
        Unsafe.WriteUnaligned((void*)address, old | value);
        return old;
    }

    public static ulong And64(ulong address, ulong value)
    {
        if ((address & 7) == 0)
        {
            return Interlocked.And(ref *(ulong*)address, value);
        }

        ulong old = Unsafe.ReadUnaligned<ulong>((void*)address);
        Unsafe.WriteUnaligned((void*)address, old & value);
        return old;
    }

    public static ulong Xor64(ulong address, ulong value)
    {
        if ((address & 7) == 0)
        {
            ref ulong target = ref *(ulong*)address;
            ulong old = Volatile.Read(ref target);
            while (true)
            {
                ulong seen = Interlocked.CompareExchange(ref target, old ^ value, old);
                if (seen == old)
                {
                    return old;
                }

                old = seen;
            }
        }

        ulong current = Unsafe.ReadUnaligned<ulong>((void*)address);
        Unsafe.WriteUnaligned((void*)address, current ^ value);
        return current;
    }

    public static ulong Exchange64(ulong address, ulong value)
    {
        if ((address & 7) == 0)
        {
            return Interlocked.Exchange(ref *(ulong*)address, value);
        }

        ulong old = Unsafe.ReadUnaligned<ulong>((void*)address);
        Unsafe.WriteUnaligned((void*)address, value);
        return old;
    }

    public static ulong CompareExchange64(ulong address, ulong expected, ulong value)
    {
        if ((address & 7) == 0)
        {
            return Interlocked.CompareExchange(ref *(ulong*)address, value, expected);
        }

        ulong old = Unsafe.ReadUnaligned<ulong>((void*)address);
        if (old == expected)
        {
            Unsafe.WriteUnaligned((void*)address, value);
        }

        return old;
    }

    public static uint Add32(ulong address, uint value)
    {
        if ((address & 3) == 0)
        {
            return Interlocked.Add(ref *(uint*)address, value) - value;
        }

        uint old = Unsafe.ReadUnaligned<uint>((void*)address);
        Unsafe.WriteUnaligned((void*)address, old + value);
        return old;
    }

    public static uint Or32(ulong address, uint value)
    {
        if ((address & 3) == 0)
        {
            return Interlocked.Or(ref *(uint*)address, value);
        }

        uint old = Unsafe.ReadUnaligned<uint>((void*)address);
        Unsafe.WriteUnaligned((void*)address, old | value);
        return old;
    }

    public static uint And32(ulong address, uint value)
    {
        if ((address & 3) == 0)
        {
            return Interlocked.And(ref *(uint*)address, value);
        }

        uint old = Unsafe.ReadUnaligned<uint>((void*)address);
        Unsafe.WriteUnaligned((void*)address, old & value);
        return old;
    }

    public static uint Xor32(ulong address, uint value)
    {
        if ((address & 3) == 0)
        {
            ref uint target = ref *(uint*)address;
            uint old = Volatile.Read(ref target);
            while (true)
            {
                uint seen = Interlocked.CompareExchange(ref target, old ^ value, old);
                if (seen == old)
                {
                    return old;
                }

                old = seen;
            }
        }

        uint current = Unsafe.ReadUnaligned<uint>((void*)address);
        Unsafe.WriteUnaligned((void*)address, current ^ value);
        return current;
    }

    public static uint Exchange32(ulong address, uint value)
    {
        if ((address & 3) == 0)
        {
            return Interlocked.Exchange(ref *(uint*)address, value);
        }

        uint old = Unsafe.ReadUnaligned<uint>((void*)address);
        Unsafe.WriteUnaligned((void*)address, value);
        return old;
    }

    public static uint CompareExchange32(ulong address, uint expected, uint value)
    {
        if ((address & 3) == 0)
        {
            return Interlocked.CompareExchange(ref *(uint*)address, value, expected);
        }

        uint old = Unsafe.ReadUnaligned<uint>((void*)address);
        if (old == expected)
        {
            Unsafe.WriteUnaligned((void*)address, value);
        }

        return old;
    }
}
