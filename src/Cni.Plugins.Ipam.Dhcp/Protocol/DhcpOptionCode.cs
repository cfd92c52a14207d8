namespace Cni.Plugins.Ipam.Dhcp.Protocol;

/// <summary>The DHCPv4 option codes this implementation reads or writes (RFC 2132, RFC 3442); any other code is
/// carried as raw bytes.</summary>
public enum DhcpOptionCode : byte
{
    /// <summary>Pad (0): one byte, no length.</summary>
    Pad = 0,
    /// <summary>Subnet mask (1): four bytes.</summary>
    SubnetMask = 1,
    /// <summary>Routers (3): a list of addresses, the first preferred.</summary>
    Router = 3,
    /// <summary>Domain name servers (6): a list of addresses.</summary>
    DomainNameServer = 6,
    /// <summary>Host name (12).</summary>
    HostName = 12,
    /// <summary>Domain name (15).</summary>
    DomainName = 15,
    /// <summary>Static routes (33): classful destination and router pairs.</summary>
    StaticRoutes = 33,
    /// <summary>Requested IP address (50).</summary>
    RequestedIPAddress = 50,
    /// <summary>IP address lease time in seconds (51).</summary>
    LeaseTime = 51,
    /// <summary>Option overload (52): the <c>file</c> and/or <c>sname</c> fields hold options.</summary>
    OptionOverload = 52,
    /// <summary>DHCP message type (53).</summary>
    MessageType = 53,
    /// <summary>Server identifier (54).</summary>
    ServerIdentifier = 54,
    /// <summary>Parameter request list (55).</summary>
    ParameterRequestList = 55,
    /// <summary>Message (56): error text from the server.</summary>
    Message = 56,
    /// <summary>Maximum DHCP message size (57).</summary>
    MaximumMessageSize = 57,
    /// <summary>Renewal (T1) time in seconds (58).</summary>
    RenewalTime = 58,
    /// <summary>Rebinding (T2) time in seconds (59).</summary>
    RebindingTime = 59,
    /// <summary>Vendor class identifier (60).</summary>
    VendorClassIdentifier = 60,
    /// <summary>Client identifier (61): a type byte then the identifier.</summary>
    ClientIdentifier = 61,
    /// <summary>User class (77).</summary>
    UserClass = 77,
    /// <summary>Domain search list (119).</summary>
    DomainSearch = 119,
    /// <summary>Classless static routes (121, RFC 3442).</summary>
    ClasslessStaticRoute = 121,
    /// <summary>End (255): the last option.</summary>
    End = 255,
}

/// <summary>The DHCP message types (option 53).</summary>
public enum DhcpMessageType : byte
{
    /// <summary>Client broadcast to locate servers.</summary>
    Discover = 1,
    /// <summary>Server offer of parameters.</summary>
    Offer = 2,
    /// <summary>Client request of offered parameters, or renewal.</summary>
    Request = 3,
    /// <summary>Client: the offered address is in use.</summary>
    Decline = 4,
    /// <summary>Server: parameters committed.</summary>
    Ack = 5,
    /// <summary>Server: the client's notion of its address is wrong, or the lease expired.</summary>
    Nak = 6,
    /// <summary>Client: gives up its address.</summary>
    Release = 7,
    /// <summary>Client: asks for local parameters only.</summary>
    Inform = 8,
}
