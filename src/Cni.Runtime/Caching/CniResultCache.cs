using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cni.Runtime.Json;
using Cni.Spec;

namespace Cni.Runtime;

/// <summary>
/// The result cache in libcni's format and place: <c>&lt;dir&gt;/results/&lt;network&gt;-&lt;containerId&gt;-&lt;ifName&gt;</c>,
/// one JSON object per attachment (<c>kind</c> "cniCacheV1", <c>containerId</c>, <c>config</c> as base64,
/// <c>ifName</c>, <c>networkName</c>, <c>netns</c>, <c>cniArgs</c>, <c>capabilityArgs</c>, <c>result</c>) written with
/// Go's byte layout, so that a node can switch between libcni-based runtimes and this one.
/// </summary>
public sealed class CniResultCache
{
    /// <summary>libcni's default cache directory.</summary>
    public const string DefaultDirectory = "/var/lib/cni";

    /// <summary>The <c>kind</c> of a version 1 cache entry.</summary>
    public const string KindV1 = "cniCacheV1";

    /// <summary>Creates a cache rooted at <paramref name="directory"/> (default <see cref="DefaultDirectory"/>).</summary>
    public CniResultCache(string? directory = null)
    {
        Directory = string.IsNullOrEmpty(directory) ? DefaultDirectory : directory;
    }

    /// <summary>The cache root; entries live in its <c>results</c> folder.</summary>
    public string Directory { get; }

    /// <summary>The folder holding the entries.</summary>
    public string ResultsDirectory => Path.Combine(Directory, "results");

    /// <summary>The entry's path; throws <see cref="CniException"/> when a part is empty or could leave the folder.</summary>
    public string GetPath(string network, string containerId, string ifName)
    {
        if (string.IsNullOrEmpty(network) || string.IsNullOrEmpty(containerId) || string.IsNullOrEmpty(ifName))
        {
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables,
                $"cache file path requires network name (\"{network}\"), container ID (\"{containerId}\"), and interface name (\"{ifName}\")");
        }
        CniValidation.ValidateNetworkName(network);
        CniValidation.ValidateContainerId(containerId);
        CniValidation.ValidateInterfaceName(ifName);
        return Path.Combine(ResultsDirectory, $"{network}-{containerId}-{ifName}");
    }

    /// <summary>The entry's JSON exactly as libcni marshals it.</summary>
    public static byte[] Serialize(string network, CniRuntimeConf runtimeConf, ReadOnlySpan<byte> config, CniResult? result)
    {
        ArgumentNullException.ThrowIfNull(runtimeConf);
        var sb = new StringBuilder();
        sb.Append("{\"kind\":");
        GoJson.WriteString(sb, KindV1);
        sb.Append(",\"containerId\":");
        GoJson.WriteString(sb, runtimeConf.ContainerId);
        sb.Append(",\"config\":\"").Append(Convert.ToBase64String(config)).Append('"');
        sb.Append(",\"ifName\":");
        GoJson.WriteString(sb, runtimeConf.IfName);
        sb.Append(",\"networkName\":");
        GoJson.WriteString(sb, network);
        if (!string.IsNullOrEmpty(runtimeConf.NetNs))
        {
            sb.Append(",\"netns\":");
            GoJson.WriteString(sb, runtimeConf.NetNs);
        }
        if (runtimeConf.Args.Count > 0)
        {
            sb.Append(",\"cniArgs\":[");
            for (int i = 0; i < runtimeConf.Args.Count; i++)
            {
                if (i > 0)
                    sb.Append(',');
                sb.Append('[');
                GoJson.WriteString(sb, runtimeConf.Args[i].Key);
                sb.Append(',');
                GoJson.WriteString(sb, runtimeConf.Args[i].Value);
                sb.Append(']');
            }
            sb.Append(']');
        }
        if (runtimeConf.CapabilityArgs is { Count: > 0 })
        {
            sb.Append(",\"capabilityArgs\":");
            GoJson.Write(sb, runtimeConf.CapabilityArgs);
        }
        if (result is not null)
        {
            JsonNode? resultNode = JsonNode.Parse(CniResultSerializer.SerializeToUtf8Bytes(result, result.CniVersion, indented: false));
            if (resultNode is JsonObject { Count: > 0 })
            {
                sb.Append(",\"result\":");
                GoJson.Write(sb, resultNode);
            }
        }
        sb.Append('}');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Writes the entry of an ADD (folder 0700, file 0600, replaced atomically).</summary>
    public void Write(string network, CniRuntimeConf runtimeConf, ReadOnlySpan<byte> config, CniResult result)
    {
        string path = GetPath(network, runtimeConf.ContainerId, runtimeConf.IfName);
        byte[] bytes = Serialize(network, runtimeConf, config, result);
        string? temp = null;
        try
        {
            var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (OperatingSystem.IsWindows())
            {
                System.IO.Directory.CreateDirectory(ResultsDirectory);
            }
            else
            {
                System.IO.Directory.CreateDirectory(ResultsDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            temp = Path.Combine(ResultsDirectory, TemporaryName(Path.GetFileName(path)));
            using (var stream = new FileStream(temp, fileOptions))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true); // fsync before the rename: after a crash the entry is whole or absent
            }
            File.Move(temp, path, overwrite: true);
            temp = null;
            DirectorySync.Sync(ResultsDirectory); // and the rename itself survives the crash
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (temp is not null)
                TryDelete(temp);
            throw new CniException((uint)CniErrorCode.IoFailure, $"failed to write cached result for network \"{network}\" to {path}: {ex.Message}", null, ex);
        }
    }

    /// <summary>How old a temporary file must be before <see cref="SweepTemporaryFiles"/> takes it for a crashed writer's.</summary>
    public static readonly TimeSpan TemporaryFileMaxAge = TimeSpan.FromMinutes(10);

    /// <summary>The name an entry is written under before it is renamed into place: <c>.&lt;entry&gt;.&lt;pid&gt;.&lt;32 hex digits&gt;.tmp</c>.</summary>
    private static string TemporaryName(string entry) => $".{entry}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";

    /// <summary>True for a name <see cref="TemporaryName"/> makes.</summary>
    internal static bool IsTemporaryName(string name)
    {
        // ".<entry>.<pid>.<guid:N>.tmp", read from the end.
        if (name.Length < 1 + 1 + 1 + 1 + 1 + 32 + 4 || name[0] != '.' || !name.EndsWith(".tmp", StringComparison.Ordinal))
            return false;
        ReadOnlySpan<char> rest = name.AsSpan(1, name.Length - 1 - 4);
        int dot = rest.LastIndexOf('.');
        if (dot < 0 || rest.Length - dot - 1 != 32 || !IsLowerHex(rest[(dot + 1)..]))
            return false;
        rest = rest[..dot];
        dot = rest.LastIndexOf('.');
        return dot > 0 && dot < rest.Length - 1 && !rest[(dot + 1)..].ContainsAnyExceptInRange('0', '9');
    }

    private static bool IsLowerHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
                return false;
        }
        return true;
    }

    /// <summary>
    /// Removes the temporary files of writers that crashed between creating and renaming them: only names this cache
    /// writes (<c>.&lt;entry&gt;.&lt;pid&gt;.&lt;32 hex digits&gt;.tmp</c>) last written more than <paramref name="minimumAge"/>
    /// ago (a younger one may be a write in progress). Returns how many were removed; files that vanish or cannot be
    /// removed meanwhile are skipped.
    /// </summary>
    public int SweepTemporaryFiles(TimeSpan minimumAge)
    {
        string dir = ResultsDirectory;
        if (!System.IO.Directory.Exists(dir))
            return 0;
        DateTime cutoff = DateTime.UtcNow - minimumAge;
        int removed = 0;
        foreach (string file in System.IO.Directory.EnumerateFiles(dir, ".*.tmp"))
        {
            try
            {
                if (!IsTemporaryName(Path.GetFileName(file)) || File.GetLastWriteTimeUtc(file) > cutoff)
                    continue;
                File.Delete(file);
                removed++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone or not ours to remove: the next sweep tries again.
            }
        }
        return removed;
    }

    /// <summary>Removes the entry; true when there was one.</summary>
    public bool Delete(string network, string containerId, string ifName)
    {
        string path = GetPath(network, containerId, ifName);
        try
        {
            if (!File.Exists(path))
                return false;
            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CniException((uint)CniErrorCode.IoFailure, $"failed to remove cached result {path}: {ex.Message}", null, ex);
        }
    }

    /// <summary>
    /// The cached result of an attachment, converted to <paramref name="version"/> (null: as cached), or null when
    /// there is no entry. Reads version 1 entries and, like libcni, legacy files holding the bare result.
    /// Throws <see cref="CniException"/> when the entry cannot be read or converted.
    /// </summary>
    public CniResult? ReadResult(string network, string containerId, string ifName, string? version = null)
    {
        string path = GetPath(network, containerId, ifName);
        byte[] bytes;
        try
        {
            if (!File.Exists(path))
                return null;
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // like libcni: an unreadable entry counts as none
        }
        byte[] resultBytes = bytes;
        if (TryParseEntry(bytes, path, out CniCachedAttachment? entry))
        {
            if (entry.Result is null)
                return null;
            resultBytes = Encoding.UTF8.GetBytes(entry.Result.ToJsonString());
        }
        CniResult result = CniResultSerializer.Parse(resultBytes, version: null, what: $"cached result {path}");
        if (version is null || version.Length == 0 || version == result.CniVersion)
            return result;
        // Convert as libcni's GetAsVersion does: through the wire format of the requested version.
        byte[] converted = CniResultSerializer.SerializeToUtf8Bytes(result, version, indented: false);
        return CniResultSerializer.Parse(converted, version, $"cached result {path}");
    }

    /// <summary>The entry of an attachment, or null when there is none or it is not a version 1 entry.</summary>
    public CniCachedAttachment? Read(string network, string containerId, string ifName)
    {
        string path = GetPath(network, containerId, ifName);
        try
        {
            return File.Exists(path) && TryParseEntry(File.ReadAllBytes(path), path, out CniCachedAttachment? entry) ? entry : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Every version 1 entry, sorted by file name, optionally only those of <paramref name="containerId"/>;
    /// unreadable or foreign files are skipped, as libcni does.
    /// </summary>
    public IReadOnlyList<CniCachedAttachment> ListAttachments(string? containerId = null)
    {
        string dir = ResultsDirectory;
        if (!System.IO.Directory.Exists(dir))
            return [];
        var attachments = new List<CniCachedAttachment>();
        foreach (string file in System.IO.Directory.GetFiles(dir).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(file);
            if (name.StartsWith('.'))
                continue; // a write in progress
            if (!string.IsNullOrEmpty(containerId))
            {
                string part = $"-{containerId}-";
                int pos = name.IndexOf(part, StringComparison.Ordinal);
                if (pos <= 0 || pos + part.Length >= name.Length)
                    continue;
            }
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (!TryParseEntry(bytes, file, out CniCachedAttachment? entry))
                continue;
            if (!string.IsNullOrEmpty(containerId) && entry.ContainerId != containerId)
                continue;
            if (entry.IfName.Length == 0 || entry.Network.Length == 0)
                continue;
            attachments.Add(entry);
        }
        return attachments;
    }

    /// <summary>Parses a cache entry; false when it is not JSON or not a version 1 entry.</summary>
    public static bool TryParseEntry(ReadOnlySpan<byte> bytes, string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CniCachedAttachment? entry)
    {
        entry = null;
        JsonObject? root;
        try
        {
            root = Json.JsonTree.Parse(bytes) as JsonObject;
        }
        catch (JsonException)
        {
            return false;
        }
        if (root is null || GetString(root, "kind") != KindV1)
            return false;
        try
        {
            var args = new List<KeyValuePair<string, string>>();
            if (root["cniArgs"] is JsonArray pairs)
            {
                foreach (JsonNode? pair in pairs)
                {
                    if (pair is JsonArray { Count: 2 } kv)
                        args.Add(new(kv[0]?.GetValue<string>() ?? "", kv[1]?.GetValue<string>() ?? ""));
                }
            }
            string? config = GetString(root, "config");
            entry = new CniCachedAttachment
            {
                ContainerId = GetString(root, "containerId") ?? "",
                Network = GetString(root, "networkName") ?? "",
                IfName = GetString(root, "ifName") ?? "",
                NetNs = GetString(root, "netns"),
                Config = string.IsNullOrEmpty(config) ? [] : Convert.FromBase64String(config),
                Args = args,
                CapabilityArgs = root["capabilityArgs"] as JsonObject,
                Result = root["result"] as JsonObject,
                Path = path,
            };
            return true;
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Nothing more to do: a leftover temporary file is skipped when listing.
        }
    }

    private static string? GetString(JsonObject root, string key) =>
        root[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
