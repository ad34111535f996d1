namespace Ebpf.Kernel;

/// <summary>The kernel program types a program written for Linux can have here: each fixes the context the program gets, how its context loads are rewritten and which packet helpers it may call.</summary>
public enum KernelProgramType
{
    /// <summary><c>BPF_PROG_TYPE_XDP</c>: the context is <c>struct xdp_md</c>; the packet starts at the Ethernet header, with 256 bytes of headroom.</summary>
    Xdp,

    /// <summary><c>BPF_PROG_TYPE_SCHED_CLS</c> (tc classifier): the context is <c>struct __sk_buff</c>; the packet starts at the Ethernet header.</summary>
    SchedCls,

    /// <summary><c>BPF_PROG_TYPE_SOCKET_FILTER</c>: the context is <c>struct __sk_buff</c>; the packet starts at the network header.</summary>
    SocketFilter,
}
