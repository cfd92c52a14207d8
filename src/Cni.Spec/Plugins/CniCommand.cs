namespace Cni.Spec;

/// <summary>The operations of the CNI protocol (<c>CNI_COMMAND</c>).</summary>
public enum CniCommand
{
    /// <summary><c>ADD</c>: attach the container to the network.</summary>
    Add,

    /// <summary><c>DEL</c>: detach the container and release what ADD took.</summary>
    Del,

    /// <summary><c>CHECK</c>: verify an attachment against its previous result (0.4.0 and later).</summary>
    Check,

    /// <summary><c>GC</c>: release resources of attachments that are no longer valid (1.1.0).</summary>
    Gc,

    /// <summary><c>STATUS</c>: report whether the plugin is ready to ADD (1.1.0).</summary>
    Status,

    /// <summary><c>VERSION</c>: report the supported spec versions.</summary>
    Version,
}

/// <summary>Conversions between <see cref="CniCommand"/> and its wire names.</summary>
public static class CniCommandNames
{
    /// <summary>The <c>CNI_COMMAND</c> value for <paramref name="command"/>, e.g. "ADD".</summary>
    public static string ToWireName(this CniCommand command) => command switch
    {
        CniCommand.Add => "ADD",
        CniCommand.Del => "DEL",
        CniCommand.Check => "CHECK",
        CniCommand.Gc => "GC",
        CniCommand.Status => "STATUS",
        CniCommand.Version => "VERSION",
        _ => throw new ArgumentOutOfRangeException(nameof(command)),
    };

    /// <summary>Parses a <c>CNI_COMMAND</c> value (exact, upper case, as the spec writes them).</summary>
    public static bool TryParse(string? text, out CniCommand command)
    {
        (bool ok, command) = text switch
        {
            "ADD" => (true, CniCommand.Add),
            "DEL" => (true, CniCommand.Del),
            "CHECK" => (true, CniCommand.Check),
            "GC" => (true, CniCommand.Gc),
            "STATUS" => (true, CniCommand.Status),
            "VERSION" => (true, CniCommand.Version),
            _ => (false, default),
        };
        return ok;
    }
}
