using System.Runtime.CompilerServices;

namespace Ebpf.Execution;

/// <summary>
/// The atomic read-modify-write operations of eBPF (<c>lock add/or/and/xor</c>, <c>xchg</c>, <c>cmpxchg</c>) on an
/// address the caller has already checked, shared by the engines that do not emit machine instructions for them.
/// Naturally aligned addresses use <see cref="Interlocked"/>; unaligned ones (accepted, as x86 lock-prefixed
/// instructions accept them) use a plain read-modify-write with the same result. Every method returns the value the
/// memory held before the operation.
/// </summary>
internal static unsafe class AtomicMemory
{
    /// <summary>Adds <paramref name="value"/> to the 64-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The addend.</param>
    /// <returns>The word before the addition.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>Ors <paramref name="value"/> into the 64-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The bits to set.</param>
    /// <returns>The word before the operation.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>Ands <paramref name="value"/> into the 64-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The bits to keep.</param>
    /// <returns>The word before the operation.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>Xors <paramref name="value"/> into the 64-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The bits to flip.</param>
    /// <returns>The word before the operation.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Xor64(ulong address, ulong value)
    {
        if ((address & 7) == 0)
        {
            ref ulong cell = ref *(ulong*)address;
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

        ulong current = Unsafe.ReadUnaligned<ulong>((void*)address);
        Unsafe.WriteUnaligned((void*)address, current ^ value);
        return current;
    }

    /// <summary>Stores <paramref name="value"/> into the 64-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The new word.</param>
    /// <returns>The word before the exchange.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>
    /// Stores <paramref name="value"/> into the 64-bit word at <paramref name="address"/> when it equals
    /// <paramref name="expected"/>.
    /// </summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="expected">The word the memory must hold for the store to happen (eBPF's r0).</param>
    /// <param name="value">The new word.</param>
    /// <returns>The word before the operation (equal to <paramref name="expected"/> when the store happened).</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>Adds <paramref name="value"/> to the 32-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The addend.</param>
    /// <returns>The word before the addition.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>Ors <paramref name="value"/> into the 32-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The bits to set.</param>
    /// <returns>The word before the operation.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>Ands <paramref name="value"/> into the 32-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The bits to keep.</param>
    /// <returns>The word before the operation.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>Xors <paramref name="value"/> into the 32-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The bits to flip.</param>
    /// <returns>The word before the operation.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Xor32(ulong address, uint value)
    {
        if ((address & 3) == 0)
        {
            ref uint cell = ref *(uint*)address;
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

        uint current = Unsafe.ReadUnaligned<uint>((void*)address);
        Unsafe.WriteUnaligned((void*)address, current ^ value);
        return current;
    }

    /// <summary>Stores <paramref name="value"/> into the 32-bit word at <paramref name="address"/>.</summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="value">The new word.</param>
    /// <returns>The word before the exchange.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>
    /// Stores <paramref name="value"/> into the 32-bit word at <paramref name="address"/> when it equals
    /// <paramref name="expected"/>.
    /// </summary>
    /// <param name="address">The checked address of the word.</param>
    /// <param name="expected">The word the memory must hold for the store to happen (the low half of eBPF's r0).</param>
    /// <param name="value">The new word.</param>
    /// <returns>The word before the operation (equal to <paramref name="expected"/> when the store happened).</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
