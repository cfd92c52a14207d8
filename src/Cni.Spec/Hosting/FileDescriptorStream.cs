using System.Runtime.InteropServices;

namespace Cni.Spec;

/// <summary>
/// An unbuffered stream over an inherited standard descriptor (0, 1 or 2), with plain <c>read(2)</c>/<c>write(2)</c>.
/// </summary>
/// <remarks>
/// Cheaper than <see cref="Console"/> streams for a process that lives a few milliseconds: writing to a console stream
/// first initializes the terminal and signal handling (an extra thread, signal handlers, <c>ioctl</c>s), and the
/// descriptor is not duplicated. Unlike a <see cref="FileStream"/> it never seeks or uses <c>pwrite</c>, so a stdout
/// shared with stderr (<c>&gt;file 2&gt;&amp;1</c>) or opened for appending keeps the caller's file offset semantics.
/// The descriptor is never closed.
/// </remarks>
internal sealed partial class FileDescriptorStream : Stream
{
    private const int EAGAIN = 11;
    private const int EPIPE = 32;

    private readonly nint _fd;
    private readonly bool _write;

    public FileDescriptorStream(int fd, bool write)
    {
        _fd = fd;
        _write = write;
    }

    public override bool CanRead => !_write;

    public override bool CanSeek => false;

    public override bool CanWrite => _write;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override unsafe int Read(Span<byte> buffer)
    {
        if (_write)
            throw new NotSupportedException();
        while (true)
        {
            int n;
            fixed (byte* p = buffer)
                n = SysRead(_fd, p, buffer.Length);
            if (n >= 0)
                return n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EAGAIN)
            {
                Thread.Sleep(1);
                continue;
            }
            throw new IOException($"read from descriptor {_fd} failed (errno {errno})", errno);
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    public override unsafe void Write(ReadOnlySpan<byte> buffer)
    {
        if (!_write)
            throw new NotSupportedException();
        while (buffer.Length > 0)
        {
            int n;
            fixed (byte* p = buffer)
                n = SysWrite(_fd, p, buffer.Length);
            if (n >= 0)
            {
                buffer = buffer[n..];
                continue;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EPIPE)
                return; // the reader went away, as Console streams do: nothing left to tell anyone
            if (errno == EAGAIN)
            {
                Thread.Sleep(1);
                continue;
            }
            throw new IOException($"write to descriptor {_fd} failed (errno {errno})", errno);
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    // The runtime's own native shim (linked into NativeAOT executables, shipped with the shared framework): retries
    // EINTR and reports errno.
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Read", SetLastError = true)]
    private static unsafe partial int SysRead(nint fd, byte* buffer, int count);

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Write", SetLastError = true)]
    private static unsafe partial int SysWrite(nint fd, byte* buffer, int count);
}
