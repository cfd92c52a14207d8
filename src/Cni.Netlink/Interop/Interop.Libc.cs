using System.Runtime.InteropServices;

namespace Cni.Netlink;

internal static partial class Interop
{
    /// <summary>libc entry points and constants Tmds.LibC 0.5.0 lacks.</summary>
    internal static partial class Libc
    {
        private const string LibraryName = "libc";

        internal const int CLONE_NEWNET = 0x40000000;
        internal const ulong MS_BIND = 4096;
        internal const ulong MS_REC = 16384;
        internal const ulong MS_SHARED = 1 << 20;
        internal const int MNT_DETACH = 2;

        /// <summary>struct timeval (SO_RCVTIMEO).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct TimeVal
        {
            internal nint Seconds; // time_t
            internal nint Microseconds; // suseconds_t
        }

        [LibraryImport(LibraryName, EntryPoint = "gettid")]
        internal static partial int GetTid();
    }
}
