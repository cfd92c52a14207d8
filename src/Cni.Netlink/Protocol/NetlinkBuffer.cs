namespace Cni.Netlink.Protocol;

/// <summary>
/// A growable byte buffer that <see cref="NetlinkWriter"/> writes into. Reused request after request, so building a
/// message allocates nothing once the buffer is large enough.
/// </summary>
/// <remarks>
/// Not rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/>: the buffer lives as long as its connection, so the
/// pool saved nothing, and in a plugin (two or three connections disposed at exit) the pool's second return of a
/// same-size array made the runtime calibrate its processor-id cache, 3% of a bridge CHECK.
/// </remarks>
internal sealed class NetlinkBuffer : IDisposable
{
    private byte[] _array;

    internal NetlinkBuffer(int initialCapacity = 1024) => _array = GC.AllocateUninitializedArray<byte>(initialCapacity);

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
            byte[] bigger = GC.AllocateUninitializedArray<byte>(Math.Max(needed, _array.Length * 2));
            _array.AsSpan(0, Length).CopyTo(bigger);
            _array = bigger;
        }
        return _array;
    }

    internal byte[] Array => _array;

    /// <summary>Drops the buffer (kept disposable so that owners release it explicitly).</summary>
    public void Dispose() => _array = [];
}
