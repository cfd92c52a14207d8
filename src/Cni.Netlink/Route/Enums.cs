namespace Cni.Netlink;

/// <summary>RFC 2863 operational state of a link (IFLA_OPERSTATE).</summary>
public enum OperState : byte
{
    /// <summary>IF_OPER_UNKNOWN: the driver does not report it (lo, bridges without ports, ...).</summary>
    Unknown = 0,
    /// <summary>IF_OPER_NOTPRESENT.</summary>
    NotPresent = 1,
    /// <summary>IF_OPER_DOWN.</summary>
    Down = 2,
    /// <summary>IF_OPER_LOWERLAYERDOWN: e.g. a veth whose peer is down.</summary>
    LowerLayerDown = 3,
    /// <summary>IF_OPER_TESTING.</summary>
    Testing = 4,
    /// <summary>IF_OPER_DORMANT.</summary>
    Dormant = 5,
    /// <summary>IF_OPER_UP.</summary>
    Up = 6,
}

/// <summary>Device flags (IFF_* from net/if.h) as reported in ifinfomsg.ifi_flags.</summary>
[Flags]
public enum LinkFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>IFF_UP: administratively up.</summary>
    Up = 0x1,
    /// <summary>IFF_BROADCAST.</summary>
    Broadcast = 0x2,
    /// <summary>IFF_LOOPBACK.</summary>
    Loopback = 0x8,
    /// <summary>IFF_POINTOPOINT.</summary>
    PointToPoint = 0x10,
    /// <summary>IFF_RUNNING.</summary>
    Running = 0x40,
    /// <summary>IFF_NOARP.</summary>
    NoArp = 0x80,
    /// <summary>IFF_PROMISC.</summary>
    Promiscuous = 0x100,
    /// <summary>IFF_ALLMULTI.</summary>
    AllMulticast = 0x200,
    /// <summary>IFF_MASTER.</summary>
    Master = 0x400,
    /// <summary>IFF_SLAVE.</summary>
    Slave = 0x800,
    /// <summary>IFF_MULTICAST.</summary>
    Multicast = 0x1000,
    /// <summary>IFF_LOWER_UP: carrier present.</summary>
    LowerUp = 0x10000,
    /// <summary>IFF_DORMANT.</summary>
    Dormant = 0x20000,
}

/// <summary>macvlan modes (MACVLAN_MODE_*).</summary>
public enum MacvlanMode : uint
{
    /// <summary>No traffic between macvlans of the same parent.</summary>
    Private = 1,
    /// <summary>Traffic between macvlans goes through the external switch.</summary>
    Vepa = 2,
    /// <summary>macvlans of the same parent talk directly (the CNI default).</summary>
    Bridge = 4,
    /// <summary>The single macvlan takes over the parent.</summary>
    Passthru = 8,
    /// <summary>Accepts only frames from a list of source MACs.</summary>
    Source = 16,
}

/// <summary>ipvlan modes (IPVLAN_MODE_*).</summary>
public enum IpvlanMode : ushort
{
    /// <summary>Layer 2 mode.</summary>
    L2 = 0,
    /// <summary>Layer 3 mode.</summary>
    L3 = 1,
    /// <summary>Layer 3 mode with netfilter hooks (l3s).</summary>
    L3S = 2,
}

/// <summary>ipvlan flags (IPVLAN_F_*).</summary>
public enum IpvlanFlags : ushort
{
    /// <summary>Bridge between slaves (default).</summary>
    Bridge = 0,
    /// <summary>No traffic between slaves.</summary>
    Private = 1,
    /// <summary>Traffic between slaves goes through the external switch.</summary>
    Vepa = 2,
}

/// <summary>Route and address scope (RT_SCOPE_*).</summary>
public enum RouteScope : byte
{
    /// <summary>RT_SCOPE_UNIVERSE: global.</summary>
    Universe = 0,
    /// <summary>RT_SCOPE_SITE.</summary>
    Site = 200,
    /// <summary>RT_SCOPE_LINK: directly attached.</summary>
    Link = 253,
    /// <summary>RT_SCOPE_HOST: this host only.</summary>
    Host = 254,
    /// <summary>RT_SCOPE_NOWHERE.</summary>
    Nowhere = 255,
}

/// <summary>Address flags (IFA_F_*).</summary>
[Flags]
public enum AddressFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>IFA_F_SECONDARY (IPv4) / IFA_F_TEMPORARY (IPv6).</summary>
    Secondary = 0x01,
    /// <summary>IFA_F_NODAD: skip duplicate address detection (IPv6).</summary>
    NoDad = 0x02,
    /// <summary>IFA_F_OPTIMISTIC.</summary>
    Optimistic = 0x04,
    /// <summary>IFA_F_DADFAILED.</summary>
    DadFailed = 0x08,
    /// <summary>IFA_F_HOMEADDRESS.</summary>
    HomeAddress = 0x10,
    /// <summary>IFA_F_DEPRECATED.</summary>
    Deprecated = 0x20,
    /// <summary>IFA_F_TENTATIVE: DAD still running.</summary>
    Tentative = 0x40,
    /// <summary>IFA_F_PERMANENT.</summary>
    Permanent = 0x80,
    /// <summary>IFA_F_MANAGETEMPADDR.</summary>
    ManageTempAddress = 0x100,
    /// <summary>IFA_F_NOPREFIXROUTE: do not add the prefix route.</summary>
    NoPrefixRoute = 0x200,
    /// <summary>IFA_F_MCAUTOJOIN.</summary>
    MulticastAutoJoin = 0x400,
    /// <summary>IFA_F_STABLE_PRIVACY.</summary>
    StablePrivacy = 0x800,
}

/// <summary>Well-known routing tables.</summary>
public static class RouteTable
{
    /// <summary>RT_TABLE_UNSPEC: in a filter, any table.</summary>
    public const uint Unspecified = 0;
    /// <summary>RT_TABLE_DEFAULT.</summary>
    public const uint Default = 253;
    /// <summary>RT_TABLE_MAIN: where routes go by default.</summary>
    public const uint Main = 254;
    /// <summary>RT_TABLE_LOCAL: local and broadcast routes the kernel maintains.</summary>
    public const uint Local = 255;
}
