using System.Runtime.InteropServices;
using System.Text;
using Cni.Netlink.Protocol;
using Cni.Netlink.Rtnl;
using Cni.Netlink.Sockets;
using static Tmds.Linux.LibC;

namespace Cni.Netlink;

/// <summary>How <see cref="TunTap.CreateTap"/> makes a tap device.</summary>
public sealed class TapOptions
{
    /// <summary>Several queues (IFF_MULTI_QUEUE, <c>ip tuntap ... multi_queue</c>).</summary>
    public bool MultiQueue { get; init; }

    /// <summary>The user allowed to attach to the device (TUNSETOWNER, <c>user</c>); null: anyone with CAP_NET_ADMIN only.</summary>
    public uint? Owner { get; init; }

    /// <summary>The group allowed to attach to the device (TUNSETGROUP, <c>group</c>).</summary>
    public uint? Group { get; init; }

    /// <summary>Frames carry a virtio-net header (IFF_VNET_HDR, <c>vnet_hdr</c>).</summary>
    public bool VnetHeader { get; init; }
}

/// <summary>What the kernel reports of a tun/tap link (IFLA_INFO_DATA of kind "tun").</summary>
/// <param name="IsTap">True for a tap (layer 2), false for a tun (layer 3).</param>
/// <param name="Owner">The owner; null when none is set.</param>
/// <param name="Group">The group; null when none is set.</param>
/// <param name="MultiQueue">IFF_MULTI_QUEUE.</param>
/// <param name="Persist">IFF_PERSIST: the device outlives the process that made it.</param>
/// <param name="VnetHeader">IFF_VNET_HDR.</param>
/// <param name="PacketInfo">True when frames carry the packet-information header (no IFF_NO_PI).</param>
public sealed record TunInfo(bool IsTap, uint? Owner, uint? Group, bool MultiQueue, bool Persist, bool VnetHeader, bool PacketInfo);

/// <summary>
/// tun/tap devices. The kernel does not create them through rtnetlink (a "tun" RTM_NEWLINK is refused); they are made
/// as <c>ip tuntap add</c> makes them: <c>/dev/net/tun</c> opened in the target namespace, TUNSETIFF, TUNSETOWNER,
/// TUNSETGROUP, TUNSETPERSIST, close. Reading them back goes through rtnetlink (<see cref="RtNetlink.GetTunInfo"/>).
/// </summary>
public static unsafe partial class TunTap
{
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, nint argument);

    private static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>TUNSETIFF: _IOW('T', 202, int).</summary>
    public const uint TunSetIff = 0x400454ca;

    /// <summary>TUNSETPERSIST: _IOW('T', 203, int).</summary>
    public const uint TunSetPersist = 0x400454cb;

    /// <summary>TUNSETOWNER: _IOW('T', 204, int).</summary>
    public const uint TunSetOwner = 0x400454cc;

    /// <summary>TUNSETGROUP: _IOW('T', 206, int).</summary>
    public const uint TunSetGroup = 0x400454ce;

    /// <summary>IFF_TAP.</summary>
    public const short IffTap = 0x0002;

    /// <summary>IFF_NO_PI.</summary>
    public const short IffNoPi = 0x1000;

    /// <summary>IFF_VNET_HDR.</summary>
    public const short IffVnetHdr = 0x4000;

    /// <summary>IFF_MULTI_QUEUE.</summary>
    public const short IffMultiQueue = 0x0100;

    /// <summary>The ifr_flags TUNSETIFF gets for <paramref name="options"/>: a tap without packet information, as <c>ip tuntap add mode tap</c>.</summary>
    public static short Flags(TapOptions? options)
    {
        short flags = IffTap | IffNoPi;
        if (options?.MultiQueue == true) flags |= IffMultiQueue;
        if (options?.VnetHeader == true) flags |= IffVnetHdr;
        return flags;
    }

    /// <summary>
    /// Creates the persistent tap <paramref name="name"/> in <paramref name="ns"/> (the calling thread's namespace when
    /// null). A name that is taken fails (TUNSETIFF would otherwise attach to an existing tun device of that name, so
    /// the caller should pass a fresh name and rename).
    /// </summary>
    /// <exception cref="NetlinkException">The kernel refused a step (ENOENT: no <c>/dev/net/tun</c>); nothing is left behind.</exception>
    public static void CreateTap(string name, TapOptions? options = null, NetNs? ns = null)
    {
        RtNetlink.ValidateName(name);
        if (ns is null)
            Create(name, options);
        else
            ns.Run(() => Create(name, options));
    }

    private static void Create(string name, TapOptions? options)
    {
        int fd = NetNs.OpenFd("/dev/net/tun", O_RDWR | O_CLOEXEC, "open /dev/net/tun");
        try
        {
            byte* ifr = stackalloc byte[40];
            new Span<byte>(ifr, 40).Clear();
            Encoding.ASCII.GetBytes(name).CopyTo(new Span<byte>(ifr, 15));
            *(short*)(ifr + 16) = Flags(options);
            if (Ioctl(fd, TunSetIff, (nint)ifr) < 0)
                throw new NetlinkException(LastErrno, $"TUNSETIFF {name}");
            // Until TUNSETPERSIST the device lives only as long as this descriptor: any failure below removes it.
            if (options?.Owner is uint owner && Ioctl(fd, TunSetOwner, (nint)owner) < 0)
                throw new NetlinkException(LastErrno, $"TUNSETOWNER {name} {owner}");
            if (options?.Group is uint group && Ioctl(fd, TunSetGroup, (nint)group) < 0)
                throw new NetlinkException(LastErrno, $"TUNSETGROUP {name} {group}");
            if (Ioctl(fd, TunSetPersist, 1) < 0)
                throw new NetlinkException(LastErrno, $"TUNSETPERSIST {name}");
        }
        finally
        {
            close(fd);
        }
    }
}
