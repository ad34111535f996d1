using Ebpf.Helpers;

namespace Ebpf.Kernel;

/// <summary>
/// The socket helpers of socket-buffer programs, on the socket the test run gives every packet (see
/// <see cref="SocketFieldOffsets.Write"/>), with the kernel's ids and what Linux 6.18 answered in a test run: tc
/// programs get <c>bpf_sk_fullsock</c> (the run's socket is a full one: it gives it back), <c>bpf_tcp_sock</c> (NULL:
/// the socket's protocol is 0, not TCP) and <c>bpf_get_listener_sock</c> (NULL: the socket is not listening); both types
/// get <c>bpf_get_socket_uid</c> (0, the socket's owner). Socket filters get none of the first three (the kernel refuses them at load: "program of this type
/// cannot use helper", here a load error naming the helper).
/// </summary>
internal static class SocketHelpers
{
    /// <summary><c>bpf_get_socket_uid</c>.</summary>
    public const uint GetSocketUid = 47;

    /// <summary><c>bpf_sk_fullsock</c>.</summary>
    public const uint SkFullsock = 95;

    /// <summary><c>bpf_tcp_sock</c>.</summary>
    public const uint TcpSock = 96;

    /// <summary><c>bpf_get_listener_sock</c>.</summary>
    public const uint GetListenerSock = 98;

    /// <summary><c>bpf_get_socket_uid</c>: the uid of the packet's socket; the test run's belongs to root (0).</summary>
    public static Helper SocketUid { get; } = new(GetSocketUid, "bpf_get_socket_uid", (_, skb, _, _, _, _) =>
    {
        PacketHelpers.RunOf(skb, "bpf_get_socket_uid");
        return 0;
    })
    {
        Signature = HelperSignature.Of(HelperArgumentKind.Context),
    };

    /// <summary>Registers the tc programs' socket helpers (and <see cref="SocketUid"/>).</summary>
    public static void Register(HelperTable table)
    {
        var socket = HelperSignature.Of(HelperReturnKind.FullSocketOrNull, HelperArgumentKind.Socket);
        table.Set(SocketUid);
        table.Set(new Helper(SkFullsock, "bpf_sk_fullsock", (_, sk, _, _, _, _) => RunSocket(sk, "bpf_sk_fullsock")) { Signature = socket });
        table.Set(new Helper(TcpSock, "bpf_tcp_sock", (_, sk, _, _, _, _) =>
        {
            // Linux gives a TCP socket's tcp_sock; the test run's socket has protocol 0 (Linux 6.18 answered NULL on TCP
            // packets too), and it is the only socket a run can pass.
            RunSocket(sk, "bpf_tcp_sock");
            return 0;
        })
        {
            Signature = HelperSignature.Of(HelperReturnKind.TcpSocketOrNull, HelperArgumentKind.Socket),
        });
        table.Set(new Helper(GetListenerSock, "bpf_get_listener_sock", (_, sk, _, _, _, _) =>
        {
            RunSocket(sk, "bpf_get_listener_sock");
            return 0;
        })
        {
            Signature = socket,
        });
    }

    /// <summary>
    /// <paramref name="sk"/> when it is the run's socket, else 0 (NULL): the analysis proves the fields of what these
    /// helpers return and the engines then load them unchecked, so nothing but the run's socket may come back, whatever a
    /// program whose argument the analysis could not prove passes.
    /// </summary>
    private static ulong RunSocket(ulong sk, string helper)
    {
        var run = PacketHelpers.CurrentRun(helper);
        return run.SocketSize != 0 && sk == run.SocketAddress ? sk : 0;
    }
}
