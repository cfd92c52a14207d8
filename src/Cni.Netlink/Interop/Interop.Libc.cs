using System.Runtime.InteropServices;

namespace Cni.Netlink;

internal static partial class Interop
{
    /// <summary>What Tmds.LibC 0.5.0 lacks: struct timeval with time_t-sized fields (SO_RCVTIMEO).</summary>
    internal static class Libc
    {
        /// <summary>struct timeval (SO_RCVTIMEO).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct TimeVal
        {
            internal nint Seconds; // time_t
            internal nint Microseconds; // suseconds_t
        }
    }
}
