namespace Cni.Spec;

/// <summary>
/// IPAM delegation for plugins: runs <c>ipam.type</c> from <c>CNI_PATH</c> with the same stdin and the same
/// <c>CNI_*</c> variables as the calling plugin received, only <c>CNI_COMMAND</c> changed.
/// </summary>
/// <remarks>Every failure, also a missing <c>ipam.type</c> or a plugin not found on <c>CNI_PATH</c>, is reported through the
/// returned task, so a caller can start the IPAM plugin and do its own work before awaiting it.</remarks>
public static class Ipam
{
    /// <summary>Whether the request's configuration names an IPAM plugin (<c>ipam.type</c>): the plugin is then layer 3
    /// and delegates its addresses.</summary>
    public static bool IsConfigured(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return !string.IsNullOrEmpty(request.Config.Ipam?.Type);
    }

    /// <summary>The executor used to run IPAM plugins (replaceable for tests or to capture stderr).</summary>
    public static PluginExecutor Executor { get; set; } = PluginExecutor.Default;

    /// <summary>Delegates ADD and returns the IPAM plugin's result in the model.</summary>
    public static Task<CniResult> ExecAddAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Prepare(request, CniCommand.Add, out string path, out List<KeyValuePair<string, string?>> env) is { } error
            ? Task.FromException<CniResult>(error)
            : Executor.ExecWithResultAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>Delegates DEL.</summary>
    public static Task ExecDelAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Prepare(request, CniCommand.Del, out string path, out List<KeyValuePair<string, string?>> env) is { } error
            ? Task.FromException(error)
            : Executor.ExecAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>Delegates CHECK.</summary>
    public static Task ExecCheckAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Prepare(request, CniCommand.Check, out string path, out List<KeyValuePair<string, string?>> env) is { } error
            ? Task.FromException(error)
            : Executor.ExecAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>Delegates GC.</summary>
    public static Task ExecGcAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Prepare(request, CniCommand.Gc, out string path, out List<KeyValuePair<string, string?>> env) is { } error
            ? Task.FromException(error)
            : Executor.ExecAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>Delegates STATUS.</summary>
    public static Task ExecStatusAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Prepare(request, CniCommand.Status, out string path, out List<KeyValuePair<string, string?>> env) is { } error
            ? Task.FromException(error)
            : Executor.ExecAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>The IPAM executable and the environment to run it with (the request's <c>CNI_*</c>, <paramref name="command"/> set).</summary>
    /// <summary>The IPAM plugin's path and environment, or the error that prevents running it (returned, not thrown).</summary>
    private static CniException? Prepare(CniRequest request, CniCommand command, out string path, out List<KeyValuePair<string, string?>> environment)
    {
        path = "";
        environment = [];
        if (!IsConfigured(request))
            return new CniException(CniErrorCode.InvalidNetworkConfig, "missing IPAM plugin type (ipam.type)");
        string type = request.Config.Ipam!.Type!;
        try
        {
            path = PluginExecutor.FindInPath(type, request.Path);
        }
        catch (CniException ex)
        {
            return ex;
        }
        environment.Add(new(CniEnvironmentVariables.Command, command.ToWireName()));
        foreach (string name in CniEnvironmentVariables.All)
        {
            if (name != CniEnvironmentVariables.Command)
                environment.Add(new(name, request.Environment.GetVariable(name)));
        }
        return null;
    }
}
