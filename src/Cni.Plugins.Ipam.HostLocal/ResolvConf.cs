using Cni.Spec;

namespace Cni.Plugins.Ipam.HostLocal;

/// <summary>Reads a resolv.conf-style file into a result's dns, as the reference does.</summary>
internal static class ResolvConf
{
    /// <summary>Parses the file at <paramref name="path"/>.</summary>
    /// <exception cref="CniException">The file cannot be read.</exception>
    public static CniDns Parse(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IoFailure, $"ipam.resolvConf: cannot read {path}: {ex.Message}");
        }
        return ParseLines(lines);
    }

    /// <summary>nameserver (one each), domain (last wins), search and options (all words, accumulated); comments start with # or ;.</summary>
    public static CniDns ParseLines(IEnumerable<string> lines)
    {
        var dns = new CniDns();
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
                continue;
            string[] fields = line.Split([' ', '\t', '\v', '\f', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2)
                continue;
            switch (fields[0])
            {
                case "nameserver":
                    dns.Nameservers.Add(fields[1]);
                    break;
                case "domain":
                    dns.Domain = fields[1];
                    break;
                case "search":
                    dns.Search.AddRange(fields[1..]);
                    break;
                case "options":
                    dns.Options.AddRange(fields[1..]);
                    break;
            }
        }
        return dns;
    }
}

/// <summary>access(2) for STATUS.</summary>
internal static unsafe class DirectoryAccess
{
    /// <summary>True when this process may create files in <paramref name="directory"/>.</summary>
    public static bool CanWrite(string directory)
    {
        byte[] path = System.Text.Encoding.UTF8.GetBytes(directory + "\0");
        fixed (byte* p = path)
            return Tmds.Linux.LibC.access(p, Tmds.Linux.LibC.W_OK | Tmds.Linux.LibC.X_OK) == 0;
    }
}
