using System.Buffers.Binary;

namespace Cni.Plugins.TestSupport;

/// <summary>
/// Reads the netlink datagrams out of an strace capture taken with <c>-xx -e write=all</c> and/or <c>-e read=all</c>:
/// the hex dump block that follows each sendmsg/sendto/recvmsg line, split into netlink messages.
/// </summary>
public static class StraceCapture
{
    /// <summary>Every datagram dumped in the file, in order (one per hex dump block).</summary>
    public static List<byte[]> Datagrams(string path)
    {
        var result = new List<byte[]>();
        List<byte>? current = null;
        foreach (string line in File.ReadLines(path))
        {
            int bar = line.IndexOf(" | ", StringComparison.Ordinal);
            bool isDump = bar >= 0 && line.Length > bar + 10 && IsHexOffset(line.AsSpan(bar + 3, 5));
            if (!isDump)
            {
                if (current is { Count: > 0 }) result.Add([.. current]);
                current = null;
                continue;
            }
            current ??= [];
            string hex = line.Substring(bar + 10, Math.Min(49, line.Length - bar - 10));
            foreach (string token in hex.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                current.Add(Convert.ToByte(token, 16));
        }
        if (current is { Count: > 0 }) result.Add([.. current]);
        return result;
    }

    private static bool IsHexOffset(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
            if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }

    /// <summary>The netlink messages in a datagram (iproute2 sometimes sends a zero-padded buffer after the message).</summary>
    public static IEnumerable<byte[]> Messages(byte[] datagram)
    {
        int offset = 0;
        while (offset + 16 <= datagram.Length)
        {
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(datagram.AsSpan(offset));
            if (len < 16 || offset + len > datagram.Length) yield break;
            yield return datagram[offset..(offset + len)];
            offset += (len + 3) & ~3;
        }
    }

    /// <summary>Every netlink message in the file, in order: <see cref="Datagrams"/> split by <see cref="Messages"/>.</summary>
    public static List<byte[]> AllMessages(string path) => Datagrams(path).SelectMany(Messages).ToList();

    /// <summary>The message with its nlmsg_seq and nlmsg_pid zeroed.</summary>
    public static byte[] Normalise(byte[] message)
    {
        byte[] copy = (byte[])message.Clone();
        copy.AsSpan(8, 8).Clear();
        return copy;
    }

    /// <summary>The nlmsg_type of a message.</summary>
    public static ushort TypeOf(byte[] message) => BinaryPrimitives.ReadUInt16LittleEndian(message.AsSpan(4));

    /// <summary>The nlmsg_flags of a message.</summary>
    public static ushort FlagsOf(byte[] message) => BinaryPrimitives.ReadUInt16LittleEndian(message.AsSpan(6));

    /// <summary>The nlmsg_seq of a message.</summary>
    public static uint SeqOf(byte[] message) => BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(8));
}
