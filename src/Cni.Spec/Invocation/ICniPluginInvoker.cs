namespace Cni.Spec;

/// <summary>Runs a plugin by CNI type name, however it is provided (an executable on <c>CNI_PATH</c>, or in process).</summary>
public interface ICniPluginInvoker
{
    /// <summary>
    /// Runs plugin <paramref name="type"/> with the <c>CNI_*</c> <paramref name="environment"/> and <paramref name="stdin"/>;
    /// returns its stdout, or throws <see cref="CniException"/> with the plugin's error.
    /// </summary>
    /// <param name="type">The CNI type name (a bare name).</param>
    /// <param name="path">The <c>CNI_PATH</c> directories to search.</param>
    /// <param name="environment">The <c>CNI_*</c> variables; a null value means unset.</param>
    /// <param name="stdin">The configuration.</param>
    /// <param name="cancellationToken">Cancels the run (an executable is killed).</param>
    Task<byte[]> InvokeAsync(string type, IReadOnlyList<string> path, IEnumerable<KeyValuePair<string, string?>> environment,
        ReadOnlyMemory<byte> stdin, CancellationToken cancellationToken = default);
}
