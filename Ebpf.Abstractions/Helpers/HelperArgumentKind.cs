namespace Ebpf.Helpers;

/// <summary>What a helper expects in one argument register (r1-r5), for the safety analysis.</summary>
public enum HelperArgumentKind : byte
{
    /// <summary>Any initialised value (number or pointer).</summary>
    Any,
    /// <summary>A number.</summary>
    Scalar,
    /// <summary>A map handle (<c>lddw</c> map pseudo source).</summary>
    MapPointer,
    /// <summary>A pointer to initialised memory of the key size of the map in the first <see cref="MapPointer"/> argument.</summary>
    MapKey,
    /// <summary>A pointer to initialised memory of the value size of the map in the first <see cref="MapPointer"/> argument.</summary>
    MapValue,
    /// <summary>A pointer to initialised memory the helper reads; the next argument must be <see cref="MemorySize"/>.</summary>
    ReadableMemory,
    /// <summary>A pointer to memory the helper writes; the next argument must be <see cref="MemorySize"/>.</summary>
    WritableMemory,
    /// <summary>The byte count of the memory argument just before.</summary>
    MemorySize,
    /// <summary>A pointer to a NUL-terminated string (its extent cannot be proven: the access stays unknown).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The argument kind is a string pointer; the name says what the helper reads.")]
    String,
    /// <summary>A pointer the helper dereferences at offsets only known at run time (it checks them itself; the access stays unknown).</summary>
    CheckedPointer,
    /// <summary>The program's context pointer, unmodified (r1 at entry; with no <see cref="Analysis.ContextLayout"/>, the input pointer at offset 0).</summary>
    Context,
    /// <summary>
    /// A function of the program (an <c>lddw</c> with the code-address source, <c>src=4</c>) the helper calls back, e.g.
    /// <c>bpf_loop</c>'s callback. A helper with such an argument may call <see cref="HelperContext.CallFunction"/>.
    /// </summary>
    Function,

    /// <summary>
    /// A record <see cref="HelperReturnKind.RingBufferRecordOrNull"/> returned, checked against null and unmoved; the
    /// call releases it (<c>bpf_ringbuf_submit</c>, <c>bpf_ringbuf_discard</c>): the program may not use it afterwards.
    /// </summary>
    RingBufferRecord,

    /// <summary>
    /// A pointer into the stack, or NULL (the kernel's <c>ARG_PTR_TO_STACK_OR_NULL</c>: the context <c>bpf_loop</c> and
    /// <c>bpf_for_each_map_elem</c> hand their callback). Any other pointer, or a number that is not 0, is refused at load
    /// by the kernel's verifier (<see cref="Analysis.SafetyAnalysis.LoadRefusals"/>); the helper passes it on unchanged.
    /// </summary>
    StackOrNull,

    /// <summary>
    /// A socket pointer compared with 0 (<see cref="Analysis.ValueKind.Socket"/> or <see cref="Analysis.ValueKind.FullSocket"/>;
    /// the kernel's <c>ARG_PTR_TO_BTF_ID_SOCK_COMMON</c>): anything else, a socket that may still be null included, is
    /// refused at load as the kernel's verifier refuses it (<see cref="Analysis.SafetyAnalysis.LoadRefusals"/>).
    /// </summary>
    Socket,
}
