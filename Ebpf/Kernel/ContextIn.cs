namespace Ebpf.Kernel;

/// <summary>
/// What the kernel's test run does with any context given in before it looks at the fields (Linux 6.18's
/// <c>bpf_ctx_init</c>): bytes past the structure must be 0, a shorter context is filled with zeros; and how a refusal
/// reads. Each program type's own rules follow (<see cref="XdpMd"/>, <see cref="SkBuffIn"/>).
/// </summary>
internal static class ContextIn
{
    /// <summary>The most bytes a context in may have, of any program type (a page: <c>bpf_check_uarg_tail_zero</c> answers E2BIG past it, zero or not).</summary>
    public const int MaxBytes = 4096;

    /// <summary>
    /// Copies <paramref name="given"/> into <paramref name="structure"/> (the whole structure, zeroed first), after
    /// checking that it has at most <see cref="MaxBytes"/> and that every byte past the structure's size is 0 (E2BIG
    /// otherwise).
    /// </summary>
    /// <exception cref="EbpfTestRunException">The context is longer than a page, or a byte past the structure is not 0.</exception>
    public static void Copy(ReadOnlySpan<byte> given, Span<byte> structure, string name)
    {
        if (given.Length > MaxBytes)
        {
            throw Refused(name, $"it has {given.Length} bytes, more than the {MaxBytes} the kernel reads", "E2BIG");
        }

        int size = structure.Length;
        if (given.Length > size && given[size..].IndexOfAnyExcept((byte)0) is int extra and >= 0)
        {
            throw Refused(name, $"its byte {size + extra} (past the {size} bytes of {name}) is not 0", "E2BIG");
        }

        structure.Clear();
        given[..Math.Min(given.Length, size)].CopyTo(structure);
    }

    /// <summary>The error of a context in (<paramref name="name"/>: the C structure) that the kernel's test run refuses with <paramref name="errno"/>.</summary>
    public static EbpfTestRunException Refused(string name, string why, string errno) =>
        new($"the context in ({name}): {why}; the kernel's test run refuses it ({errno})");

    /// <summary>
    /// Refuses <paramref name="index"/>, the device a context in of <paramref name="name"/> names in
    /// <paramref name="field"/>, when it is not one of <paramref name="devices"/>, as the kernel's test run refuses an
    /// index its network namespace has no device for (<c>dev_get_by_index</c>: ENODEV).
    /// </summary>
    /// <exception cref="EbpfTestRunException">The device is not in the list, or the list is null.</exception>
    public static void CheckDevice(string name, string field, uint index, IReadOnlyList<uint>? devices)
    {
        if (devices is null)
        {
            throw new EbpfTestRunException("TestRunOptions.Devices is null; give the device indexes of the run (the default is [1], the loopback device)");
        }

        if (!devices.Contains(index))
        {
            throw Refused(name, $"{field} {index} names no device of the run (its devices: {string.Join(", ", devices)}; TestRunOptions.Devices, ebpf test-run --device)", "ENODEV");
        }
    }
}
