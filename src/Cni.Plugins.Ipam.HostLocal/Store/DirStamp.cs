using System.Buffers.Binary;

namespace Cni.Plugins.Ipam.HostLocal.Store;

/// <summary>What identifies one state of a directory: device, inode, mtime and ctime.</summary>
internal readonly record struct DirStamp(ulong Device, ulong Inode, long MtimeSeconds, uint MtimeNanoseconds, long CtimeSeconds, uint CtimeNanoseconds)
{
    public const int Size = 8 + 8 + 8 + 4 + 8 + 4;

    public void Write(Span<byte> s)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(s, Device);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], Inode);
        BinaryPrimitives.WriteInt64LittleEndian(s[16..], MtimeSeconds);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], MtimeNanoseconds);
        BinaryPrimitives.WriteInt64LittleEndian(s[28..], CtimeSeconds);
        BinaryPrimitives.WriteUInt32LittleEndian(s[36..], CtimeNanoseconds);
    }

    public static DirStamp Read(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(s),
        BinaryPrimitives.ReadUInt64LittleEndian(s[8..]),
        BinaryPrimitives.ReadInt64LittleEndian(s[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(s[24..]),
        BinaryPrimitives.ReadInt64LittleEndian(s[28..]),
        BinaryPrimitives.ReadUInt32LittleEndian(s[36..]));
}
