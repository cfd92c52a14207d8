namespace Cni.Spec;

/// <summary>
/// IPAM delegation for plugins: runs <c>ipam.type</c> from <c>CNI_PATH</c> with the same stdin and the same
/// <c>CNI_*</c> variables as the calling plugin received, only <c>CNI_COMMAND</c> changed.
/// </summary>
public static class Ipam
{
    /// <summary>The executor used to run IPAM plugins (replaceable for tests or to capture stderr).</summary>
    public static PluginExecutor Executor { get; set; } = PluginExecutor.Default;

    /// <summary>Delegates ADD and returns the IPAM plugin's result in the model.</summary>
    public static Task<CniResult> ExecAddAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        (string path, List<KeyValuePair<string, string?>> env) = Prepare(request, CniCommand.Add);
        return Executor.ExecWithResultAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>Delegates DEL.</summary>
    public static Task ExecDelAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        (string path, List<KeyValuePair<string, string?>> env) = Prepare(request, CniCommand.Del);
        return Executor.ExecAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>Delegates CHECK.</summary>
    public static Task ExecCheckAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        (string path, List<KeyValuePair<string, string?>> env) = Prepare(request, CniCommand.Check);
        return Executor.ExecAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>Delegates GC.</summary>
    public static Task ExecGcAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        (string path, List<KeyValuePair<string, string?>> env) = Prepare(request, CniCommand.Gc);
        return Executor.ExecAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>Delegates STATUS.</summary>
    public static Task ExecStatusAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        (string path, List<KeyValuePair<string, string?>> env) = Prepare(request, CniCommand.Status);
        return Executor.ExecAsync(path, env, request.RawConfig, cancellationToken);
    }

    /// <summary>The IPAM executable and the environment to run it with (the request's <c>CNI_*</c>, <paramref name="command"/> set).</summary>
    internal static (string Path, List<KeyValuePair<string, string?>> Environment) Prepare(CniRequest request, CniCommand command)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? type = request.Config.Ipam?.Type;
        if (string.IsNullOrEmpty(type))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing IPAM plugin type (ipam.type)");
        string path = PluginExecutor.FindInPath(type, request.Path);
        var environment = new List<KeyValuePair<string, string?>> { new(CniEnvironmentVariables.Command, command.ToWireName()) };
        foreach (string name in CniEnvironmentVariables.All)
        {
            if (name != CniEnvironmentVariables.Command)
                environment.Add(new(name, request.Environment.GetVariable(name)));
        }
        return (path, environment);
    }
}
