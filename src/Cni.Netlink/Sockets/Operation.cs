using System.Net;

namespace Cni.Netlink.Sockets;

/// <summary>
/// What a request does, for error messages ("add address 10.1.2.3/24 (link index 5)"). Kept as parts and
/// formatted only when an error is thrown, so that successful requests allocate no strings.
/// </summary>
internal readonly struct Operation(string verb, string? name = null, int index = 0, object? detail = null, int number = -1)
{
    public override string ToString()
    {
        string text = verb;
        if (detail is IPAddress address) text += number >= 0 ? $" {address}/{number}" : $" {address}";
        else if (detail is Cni.Netlink.Route route) text += " " + route;
        else if (detail is string s) text += " " + s;
        else if (number >= 0) text += " " + number;
        if (name is not null) text += " " + name;
        else if (index != 0) text += $" (link index {index})";
        return text;
    }
}
