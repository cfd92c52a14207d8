using System.Buffers.Binary;
using System.Text;

namespace Cni.Plugins.TestSupport;

/// <summary>
/// Link-creation requests out of an strace capture of a plugin or of iproute2 (<see cref="Prefix"/>): the
/// RTM_NEWLINK that creates a link, its attributes, and what legitimately differs between two processes.
/// </summary>
public static class StraceNetlink
{
    /// <summary>RTM_NEWLINK.</summary>
    public const ushort RtmNewLink = 16;

    private const ushort NlmFCreate = 0x400;
    private const ushort IflaIfName = 3;
    private const ushort IflaNetNsFd = 28;

    /// <summary>The strace arguments that capture every netlink send with a hex dump into <paramref name="output"/>.</summary>
    public static string[] Prefix(string output) => ["strace", "-f", "-o", output, "-e", "trace=sendmsg,sendto", "-e", "write=all", "-xx", "-s", "65535"];

    /// <summary>Every netlink message sent, in order (<see cref="StraceCapture.AllMessages"/>).</summary>
    public static List<byte[]> Messages(string path) => StraceCapture.AllMessages(path);

    /// <summary>The last RTM_NEWLINK that creates a link (NLM_F_CREATE) of <paramref name="kind"/>.</summary>
    public static byte[] CreateLink(IEnumerable<byte[]> messages, string kind)
    {
        byte[] kindBytes = Encoding.ASCII.GetBytes(kind);
        return messages.Last(m => StraceCapture.TypeOf(m) == RtmNewLink
            && (StraceCapture.FlagsOf(m) & NlmFCreate) != 0
            && m.AsSpan().IndexOf(kindBytes) >= 0);
    }

    /// <summary>Walks the top-level attributes after ifinfomsg: (type, offset of the value, length of the value).</summary>
    public static IEnumerable<(ushort Type, int Offset, int Length)> Attributes(byte[] message)
    {
        int offset = 16 + 16;
        while (offset + 4 <= message.Length)
        {
            ushort len = BinaryPrimitives.ReadUInt16LittleEndian(message.AsSpan(offset));
            ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(message.AsSpan(offset + 2)) & 0x3fff);
            if (len < 4) yield break;
            yield return (type, offset + 4, len - 4);
            offset += (len + 3) & ~3;
        }
    }

    /// <summary>The string value of IFLA_IFNAME (3).</summary>
    public static string IfName(byte[] message)
    {
        (ushort _, int off, int len) = Attributes(message).First(a => a.Type == IflaIfName);
        return Encoding.ASCII.GetString(message, off, len).TrimEnd('\0');
    }

    /// <summary>
    /// The message with what legitimately differs between two processes zeroed: nlmsg_seq and nlmsg_pid
    /// (<see cref="StraceCapture.Normalise"/>) and the file descriptor number in IFLA_NET_NS_FD (28).
    /// </summary>
    public static byte[] Normalise(byte[] message)
    {
        byte[] copy = StraceCapture.Normalise(message);
        foreach ((ushort type, int off, int len) in Attributes(copy))
            if (type == IflaNetNsFd) copy.AsSpan(off, len).Clear();
        return copy;
    }

    /// <summary>The message with the IFLA_IFNAME value replaced by <paramref name="name"/> (same length).</summary>
    public static byte[] WithIfName(byte[] message, string name)
    {
        byte[] copy = (byte[])message.Clone();
        (ushort _, int off, int len) = Attributes(copy).First(a => a.Type == IflaIfName);
        byte[] bytes = Encoding.ASCII.GetBytes(name + "\0");
        if (bytes.Length != len)
            throw new ArgumentException($"name '{name}' does not have the length of the captured one ({len - 1})", nameof(name));
        bytes.CopyTo(copy, off);
        return copy;
    }

    /// <summary>The checked-in golden capture <paramref name="file"/> (Golden/ next to the test assembly): its link creation of <paramref name="kind"/>.</summary>
    public static byte[] Golden(string file, string kind) => CreateLink(Messages(Path.Combine(AppContext.BaseDirectory, "Golden", file)), kind);

    /// <summary>Hex with a space every 4 bytes, for readable assertion failures.</summary>
    public static string Hex(byte[] b) => string.Join(' ', b.Chunk(4).Select(c => Convert.ToHexString(c).ToLowerInvariant()));
}
