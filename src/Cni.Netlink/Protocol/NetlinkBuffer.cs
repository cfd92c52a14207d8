using System.Buffers;

namespace Cni.Netlink.Protocol;

/// <summary>
/// A growable byte buffer rented from <see cref="ArrayPool{T}.Shared"/> that <see cref="NetlinkWriter"/> writes into.
/// Reused request after request, so building a message allocates nothing once the buffer is large enough.
/// </summary>
internal sealed class NetlinkBuffer : IDisposable
{
    private byte[] _array;

    internal NetlinkBuffer(int initialCapacity = 1024) => _array = ArrayPool<byte>.Shared.Rent(initialCapacity);

    /// <summary>Bytes written so far.</summary>
    internal int Length { get; set; }

    /// <summary>The written bytes.</summary>
    internal ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, Length);

    /// <summary>The written bytes, writable (the socket patches sequence numbers in place).</summary>
    internal Span<byte> WrittenSpanMutable => _array.AsSpan(0, Length);

    internal void Clear() => Length = 0;

    /// <summary>Makes room for <paramref name="count"/> more bytes and returns the whole array (positions stay valid).</summary>
    internal byte[] Reserve(int count)
    {
        int needed = Length + count;
        if (needed > _array.Length)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _array.Length * 2));
            _array.AsSpan(0, Length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_array);
            _array = bigger;
        }
        return _array;
    }

    internal byte[] Array => _array;

    public void Dispose()
    {
        byte[] a = _array;
        _array = [];
        if (a.Length > 0) ArrayPool<byte>.Shared.Return(a);
    }
}
