namespace Cni.Netlink.Tests.Protocol;

/// <summary>
/// Where Golden/capture.sh's strace captures are next to the test assembly; read them with
/// <see cref="Cni.Plugins.TestSupport.StraceCapture"/>.
/// </summary>
internal static class GoldenCapture
{
    internal static string RequestPath(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "requests", name + ".strace");

    internal static string ReplyPath(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "replies", name + ".strace");
}
