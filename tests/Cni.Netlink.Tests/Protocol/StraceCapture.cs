using System.Buffers.Binary;

namespace Cni.Netlink.Tests.Protocol;

/// <summary>Reads the netlink datagrams out of an strace capture taken with <c>-e write=all</c> / <c>-e read=all</c> (hex dumps).</summary>
internal static class StraceCapture
{
    internal static string RequestPath(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "requests", name + ".strace");

    internal static string ReplyPath(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "replies", name + ".strace");

    /// <summary>Every datagram dumped in the file, in order (a hex dump block follows each sendmsg/sendto/recvmsg line).</summary>
    internal static List<byte[]> Datagrams(string path)
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
    internal static IEnumerable<byte[]> Messages(byte[] datagram)
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

    /// <summary>The message with its nlmsg_seq and nlmsg_pid zeroed.</summary>
    internal static byte[] Normalise(byte[] message)
    {
        byte[] copy = (byte[])message.Clone();
        copy.AsSpan(8, 8).Clear();
        return copy;
    }

    internal static ushort TypeOf(byte[] message) => BinaryPrimitives.ReadUInt16LittleEndian(message.AsSpan(4));

    internal static uint SeqOf(byte[] message) => BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(8));
}
