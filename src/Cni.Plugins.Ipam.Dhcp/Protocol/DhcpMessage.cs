using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Cni.Plugins.Ipam.Dhcp.Protocol;

/// <summary>One DHCPv4 option: its code and value bytes (no length byte; a value longer than 255 bytes is split on the
/// wire as RFC 3396 says).</summary>
public readonly record struct DhcpOption(byte Code, byte[] Value)
{
    /// <summary>An option with a known code.</summary>
    public DhcpOption(DhcpOptionCode code, byte[] value) : this((byte)code, value)
    {
    }
}

/// <summary>
/// A DHCPv4 message (RFC 2131 section 2): the fixed BOOTP header, the magic cookie and the options. Pure: encoding and
/// decoding only, no I/O. Options keep their order; a code repeated in a received message is concatenated (RFC 3396),
/// and options overloaded into <c>sname</c>/<c>file</c> (option 52) are read too.
/// </summary>
public sealed class DhcpMessage
{
    /// <summary>BOOTREQUEST (1), from a client.</summary>
    public const byte BootRequest = 1;

    /// <summary>BOOTREPLY (2), from a server.</summary>
    public const byte BootReply = 2;

    /// <summary>The broadcast bit of <see cref="Flags"/>: asks the server to broadcast its replies.</summary>
    public const ushort BroadcastFlag = 0x8000;

    /// <summary>The length of the fixed header before the magic cookie.</summary>
    public const int HeaderLength = 236;

    /// <summary>The magic cookie that starts the options (99.130.83.99).</summary>
    public const uint MagicCookie = 0x63825363;

    /// <summary>The smallest message relay agents must accept (RFC 1542): shorter messages are padded to it.</summary>
    public const int MinimumLength = 300;

    /// <summary>The client port (68).</summary>
    public const int ClientPort = 68;

    /// <summary>The server port (67).</summary>
    public const int ServerPort = 67;

    /// <summary><c>op</c>: <see cref="BootRequest"/> or <see cref="BootReply"/>.</summary>
    public byte Op { get; set; } = BootRequest;

    /// <summary><c>htype</c>: hardware type, 1 for Ethernet.</summary>
    public byte HardwareType { get; set; } = 1;

    /// <summary><c>hlen</c>: hardware address length, 6 for Ethernet.</summary>
    public byte HardwareLength { get; set; } = 6;

    /// <summary><c>hops</c>: relay hops.</summary>
    public byte Hops { get; set; }

    /// <summary><c>xid</c>: the transaction id that pairs replies with requests.</summary>
    public uint TransactionId { get; set; }

    /// <summary><c>secs</c>: seconds since the client began.</summary>
    public ushort Seconds { get; set; }

    /// <summary><c>flags</c>: <see cref="BroadcastFlag"/> or 0.</summary>
    public ushort Flags { get; set; }

    /// <summary><c>ciaddr</c>: the client's address when it has one (RENEW, REBIND, RELEASE).</summary>
    public IPAddress ClientAddress { get; set; } = IPAddress.Any;

    /// <summary><c>yiaddr</c>: "your" address, the one the server offers or assigns.</summary>
    public IPAddress YourAddress { get; set; } = IPAddress.Any;

    /// <summary><c>siaddr</c>: the next server (boot).</summary>
    public IPAddress ServerAddress { get; set; } = IPAddress.Any;

    /// <summary><c>giaddr</c>: the relay agent.</summary>
    public IPAddress GatewayAddress { get; set; } = IPAddress.Any;

    /// <summary><c>chaddr</c>: the client hardware address (16 bytes on the wire; <see cref="HardwareLength"/> used).</summary>
    public byte[] ClientHardwareAddress { get; set; } = new byte[16];

    /// <summary><c>sname</c>: the server host name (64 bytes on the wire).</summary>
    public string ServerName { get; set; } = "";

    /// <summary><c>file</c>: the boot file name (128 bytes on the wire).</summary>
    public string BootFileName { get; set; } = "";

    /// <summary>The options in order, without Pad and End.</summary>
    public List<DhcpOption> Options { get; } = [];

    /// <summary>The message type (option 53), or null when absent.</summary>
    public DhcpMessageType? MessageType
    {
        get => GetOption(DhcpOptionCode.MessageType) is [byte t] ? (DhcpMessageType)t : null;
        set
        {
            if (value is { } t)
                SetOption(DhcpOptionCode.MessageType, [(byte)t]);
            else
                RemoveOption((byte)DhcpOptionCode.MessageType);
        }
    }

    /// <summary>The value of option <paramref name="code"/>, or null when absent.</summary>
    public byte[]? GetOption(DhcpOptionCode code) => GetOption((byte)code);

    /// <summary>The value of option <paramref name="code"/>, or null when absent.</summary>
    public byte[]? GetOption(byte code)
    {
        foreach (DhcpOption option in Options)
        {
            if (option.Code == code)
                return option.Value;
        }
        return null;
    }

    /// <summary>Sets option <paramref name="code"/>: replaces it in place when present, appends it otherwise.</summary>
    public void SetOption(DhcpOptionCode code, byte[] value) => SetOption((byte)code, value);

    /// <summary>Sets option <paramref name="code"/>: replaces it in place when present, appends it otherwise.</summary>
    public void SetOption(byte code, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (code is 0 or 255)
            throw new ArgumentOutOfRangeException(nameof(code), code, "pad and end are not options with values");
        int index = Options.FindIndex(o => o.Code == code);
        if (index >= 0)
            Options[index] = new DhcpOption(code, value);
        else
            Options.Add(new DhcpOption(code, value));
    }

    /// <summary>Removes option <paramref name="code"/>; true when it was there.</summary>
    public bool RemoveOption(byte code) => Options.RemoveAll(o => o.Code == code) > 0;

    /// <summary>Sets the hardware address from an Ethernet MAC.</summary>
    public void SetHardwareAddress(PhysicalAddress mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        byte[] bytes = mac.GetAddressBytes();
        if (bytes.Length > 16)
            throw new ArgumentException("a hardware address has at most 16 bytes", nameof(mac));
        ClientHardwareAddress = new byte[16];
        bytes.CopyTo(ClientHardwareAddress, 0);
        HardwareLength = (byte)bytes.Length;
    }

    /// <summary>The hardware address as its <see cref="HardwareLength"/> bytes.</summary>
    public PhysicalAddress HardwareAddress => new(ClientHardwareAddress.AsSpan(0, Math.Min((int)HardwareLength, 16)).ToArray());

    /// <summary>The number of bytes <see cref="Encode"/> writes.</summary>
    public int EncodedLength
    {
        get
        {
            int length = HeaderLength + 4;
            foreach (DhcpOption option in Options)
                length += option.Value.Length == 0 ? 2 : option.Value.Length + 2 * ((option.Value.Length + 254) / 255);
            length += 1; // End
            return Math.Max(length, MinimumLength);
        }
    }

    /// <summary>The message as sent on the wire: header, cookie, options, End, zero padding to 300 bytes.</summary>
    public byte[] Encode()
    {
        byte[] buffer = new byte[EncodedLength];
        Span<byte> span = buffer;
        span[0] = Op;
        span[1] = HardwareType;
        span[2] = HardwareLength;
        span[3] = Hops;
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], TransactionId);
        BinaryPrimitives.WriteUInt16BigEndian(span[8..], Seconds);
        BinaryPrimitives.WriteUInt16BigEndian(span[10..], Flags);
        WriteAddress(span[12..], ClientAddress, nameof(ClientAddress));
        WriteAddress(span[16..], YourAddress, nameof(YourAddress));
        WriteAddress(span[20..], ServerAddress, nameof(ServerAddress));
        WriteAddress(span[24..], GatewayAddress, nameof(GatewayAddress));
        ClientHardwareAddress.AsSpan(0, Math.Min(16, ClientHardwareAddress.Length)).CopyTo(span[28..44]);
        WriteText(span.Slice(44, 64), ServerName, nameof(ServerName));
        WriteText(span.Slice(108, 128), BootFileName, nameof(BootFileName));
        BinaryPrimitives.WriteUInt32BigEndian(span[HeaderLength..], MagicCookie);
        int at = HeaderLength + 4;
        foreach (DhcpOption option in Options)
        {
            ReadOnlySpan<byte> value = option.Value;
            do
            {
                int chunk = Math.Min(255, value.Length);
                span[at++] = option.Code;
                span[at++] = (byte)chunk;
                value[..chunk].CopyTo(span[at..]);
                at += chunk;
                value = value[chunk..];
            }
            while (!value.IsEmpty);
        }
        span[at] = (byte)DhcpOptionCode.End;
        return buffer;
    }

    /// <summary>
    /// Reads a message from <paramref name="packet"/> (the UDP payload). Throws <see cref="FormatException"/> naming what
    /// is wrong for a message too short, without the magic cookie, or with an option running past the end.
    /// </summary>
    public static DhcpMessage Decode(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < HeaderLength + 4)
            throw new FormatException($"DHCP message of {packet.Length} bytes is shorter than the {HeaderLength + 4} of header and cookie");
        if (BinaryPrimitives.ReadUInt32BigEndian(packet[HeaderLength..]) != MagicCookie)
            throw new FormatException("DHCP message without the magic cookie 99.130.83.99");
        var message = new DhcpMessage
        {
            Op = packet[0],
            HardwareType = packet[1],
            HardwareLength = packet[2],
            Hops = packet[3],
            TransactionId = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]),
            Seconds = BinaryPrimitives.ReadUInt16BigEndian(packet[8..]),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]),
            ClientAddress = new IPAddress(packet.Slice(12, 4)),
            YourAddress = new IPAddress(packet.Slice(16, 4)),
            ServerAddress = new IPAddress(packet.Slice(20, 4)),
            GatewayAddress = new IPAddress(packet.Slice(24, 4)),
            ClientHardwareAddress = packet.Slice(28, 16).ToArray(),
        };
        var values = new Dictionary<byte, List<byte>>();
        var order = new List<byte>();
        ReadOptions(packet[(HeaderLength + 4)..], values, order, "options");
        byte overload = values.TryGetValue((byte)DhcpOptionCode.OptionOverload, out List<byte>? o) && o.Count == 1 ? o[0] : (byte)0;
        // RFC 2131 4.1: options field first, then file, then sname.
        if ((overload & 1) != 0)
            ReadOptions(packet.Slice(108, 128), values, order, "file");
        else
            message.BootFileName = ReadText(packet.Slice(108, 128));
        if ((overload & 2) != 0)
            ReadOptions(packet.Slice(44, 64), values, order, "sname");
        else
            message.ServerName = ReadText(packet.Slice(44, 64));
        foreach (byte code in order)
            message.Options.Add(new DhcpOption(code, values[code].ToArray()));
        return message;
    }

    private static void ReadOptions(ReadOnlySpan<byte> area, Dictionary<byte, List<byte>> values, List<byte> order, string where)
    {
        int at = 0;
        while (at < area.Length)
        {
            byte code = area[at++];
            if (code == (byte)DhcpOptionCode.Pad)
                continue;
            if (code == (byte)DhcpOptionCode.End)
                return;
            if (at >= area.Length)
                throw new FormatException($"DHCP option {code} in {where} has no length byte");
            int length = area[at++];
            if (at + length > area.Length)
                throw new FormatException($"DHCP option {code} in {where} claims {length} bytes, {area.Length - at} are left");
            if (!values.TryGetValue(code, out List<byte>? value))
            {
                values[code] = value = [];
                order.Add(code);
            }
            value.AddRange(area.Slice(at, length));
            at += length;
        }
    }

    private static void WriteAddress(Span<byte> destination, IPAddress address, string field)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException($"{field} must be an IPv4 address, not {address}");
        address.TryWriteBytes(destination[..4], out _);
    }

    private static void WriteText(Span<byte> destination, string text, string field)
    {
        int count = System.Text.Encoding.ASCII.GetByteCount(text);
        if (count > destination.Length - 1)
            throw new ArgumentException($"{field} is longer than {destination.Length - 1} bytes");
        System.Text.Encoding.ASCII.GetBytes(text, destination);
    }

    private static string ReadText(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(end < 0 ? field : field[..end]);
    }
}
