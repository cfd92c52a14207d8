using System.Globalization;
using System.Text.Json;
using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Spec;

namespace Cni.Plugins.Ipam.HostLocal.Configuration;

/// <summary>
/// Reads the host-local keys from the raw network configuration and validates all of them before anything
/// touches the disk. Keys are matched as Go's encoding/json matches them (case-insensitively, last one wins),
/// so a configuration the reference accepts reads the same here.
/// </summary>
internal static class HostLocalConfigParser
{
    /// <summary>Parses and validates. <paramref name="cniArgsIp"/> is the CNI_ARGS <c>IP</c> value, if any.</summary>
    /// <exception cref="CniException">Anything invalid, with the field named.</exception>
    public static HostLocalConfig Parse(ReadOnlySpan<byte> json, string? cniArgsIp)
    {
        ConfigValue root;
        try
        {
            root = ConfigValue.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"network configuration is not valid JSON: {ex.Message}");
        }
        {
            if (root.ValueKind != JsonValueKind.Object)
                throw Invalid("network configuration must be a JSON object");

            string name = GetString(root, "name", "name") ?? "";
            string cniVersion = GetString(root, "cniVersion", "cniVersion") ?? "";
            if (cniVersion.Length == 0)
                cniVersion = CniVersions.Default;

            if (Get(root, "ipam") is not { } ipam || ipam.ValueKind == JsonValueKind.Null)
                throw Invalid("IPAM config missing 'ipam' key");
            if (ipam.ValueKind != JsonValueKind.Object)
                throw Invalid("ipam must be an object");

            ConfigValue? runtimeConfig = GetObject(root, "runtimeConfig", "runtimeConfig");

            // Requested addresses: CNI_ARGS first, then args.cni.ips, then runtimeConfig.ips (the reference's order).
            var requested = new List<IpAddr>();
            if (!string.IsNullOrEmpty(cniArgsIp))
            {
                if (!TryParseRequested(cniArgsIp, out IpAddr ip))
                    throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"CNI_ARGS: IP=\"{cniArgsIp}\" is not an IP address");
                requested.Add(ip);
            }
            if (GetObject(root, "args", "args") is { } args && GetObject(args, "cni", "args.cni") is { } cni
                && GetArray(cni, "ips", "args.cni.ips") is { } argIps)
                AddRequested(argIps, "args.cni.ips", requested);
            if (runtimeConfig is { } rc1 && GetArray(rc1, "ips", "runtimeConfig.ips") is { } rcIps)
                AddRequested(rcIps, "runtimeConfig.ips", requested);
            var distinct = new List<IpAddr>();
            foreach (IpAddr ip in requested)
            {
                if (!distinct.Contains(ip))
                    distinct.Add(ip);
            }

            // Range sets: runtime ipRanges, then the legacy single range, then ipam.ranges.
            var sets = new List<RangeSet>();
            if (runtimeConfig is { } rc2 && GetArray(rc2, "ipRanges", "runtimeConfig.ipRanges") is { } ipRanges)
                sets.AddRange(ParseRangeSets(ipRanges, "runtimeConfig.ipRanges"));
            if (GetString(ipam, "subnet", "ipam.subnet") is not null)
                sets.Add(new RangeSet([ParseRange(ipam, "ipam")]));
            if (GetArray(ipam, "ranges", "ipam.ranges") is { } ranges)
                sets.AddRange(ParseRangeSets(ranges, "ipam.ranges"));
            if (sets.Count == 0)
                throw Invalid("no IP ranges specified: set ipam.ranges (or ipam.subnet)");

            for (int i = 0; i < sets.Count; i++)
            {
                for (int j = i + 1; j < sets.Count; j++)
                {
                    if (sets[i].Overlaps(sets[j]))
                        throw Invalid($"range set {i} ({sets[i]}) overlaps with range set {j} ({sets[j]})");
                }
            }

            int v4 = sets.Count(s => !s.IsV6), v6 = sets.Count - v4;
            if ((v4 > 1 || v6 > 1) && !CniVersions.IsAtLeast(cniVersion, CniVersions.V030))
                throw new CniException(CniErrorCode.IncompatibleCniVersion, $"CNI version {cniVersion} does not support more than 1 address per family");

            var perSet = new IpAddr?[sets.Count];
            foreach (IpAddr ip in distinct)
            {
                int index = sets.FindIndex(s => s.Contains(ip));
                if (index < 0)
                    throw Invalid($"requested IP address {ip} is outside every range set ({string.Join("; ", sets)})");
                if (perSet[index] is { } other)
                    throw Invalid($"requested IP addresses {other} and {ip} both fall in range set {index} ({sets[index]}); each range set yields one address");
                AddressRange range = sets[index].RangeFor(ip)!;
                if (range.Gateway == ip)
                    throw Invalid($"requested IP address {ip} is the gateway of range {range.SubnetText}");
                perSet[index] = ip;
            }

            return new HostLocalConfig
            {
                Name = name,
                CniVersion = cniVersion,
                DataDir = GetString(ipam, "dataDir", "ipam.dataDir") is { Length: > 0 } dataDir ? dataDir : HostLocalConfig.DefaultDataDir,
                ResolvConf = GetString(ipam, "resolvConf", "ipam.resolvConf") is { Length: > 0 } resolv ? resolv : null,
                RangeSets = sets,
                Routes = GetArray(ipam, "routes", "ipam.routes") is { } routes ? ParseRoutes(routes) : [],
                RequestedIps = distinct,
                RequestedPerSet = perSet,
            };
        }
    }

    private static List<RangeSet> ParseRangeSets(ConfigValue array, string field)
    {
        var sets = new List<RangeSet>();
        int i = 0;
        foreach (ConfigValue setElement in array.EnumerateArray())
        {
            string setField = $"{field}[{i}]";
            if (setElement.ValueKind != JsonValueKind.Array)
                throw Invalid($"{setField} must be an array of ranges");
            var ranges = new List<AddressRange>();
            int j = 0;
            foreach (ConfigValue rangeElement in setElement.EnumerateArray())
            {
                string rangeField = $"{setField}[{j++}]";
                if (rangeElement.ValueKind != JsonValueKind.Object)
                    throw Invalid($"{rangeField} must be an object");
                AddressRange range = ParseRange(rangeElement, rangeField);
                if (ranges.Count > 0 && ranges[0].IsV6 != range.IsV6)
                    throw Invalid($"{rangeField} ({range.SubnetText}): mixed address families in range set {i}");
                foreach (AddressRange earlier in ranges)
                {
                    if (earlier.Overlaps(range))
                        throw Invalid($"{rangeField}: subnets {earlier.SubnetText} ({earlier}) and {range.SubnetText} ({range}) overlap in range set {i}");
                }
                ranges.Add(range);
            }
            if (ranges.Count == 0)
                throw Invalid($"{setField}: empty range set");
            sets.Add(new RangeSet(ranges));
            i++;
        }
        return sets;
    }

    /// <summary>Validates one range (the reference's <c>Range.Canonicalize</c>, stricter about the gateway).</summary>
    internal static AddressRange ParseRange(ConfigValue element, string field)
    {
        string subnetText = GetString(element, "subnet", $"{field}.subnet")
            ?? throw Invalid($"{field}.subnet is missing");
        if (!TryParsePrefix(subnetText, out IpAddr address, out int prefix, out string? why))
            throw Invalid($"{field}.subnet: \"{subnetText}\" is not a CIDR subnet ({why})");
        if (prefix > address.Bits - 2)
            throw Invalid($"{field}.subnet: network {subnetText} is too small to allocate from (a /{prefix} has no usable host addresses)");
        UInt128 mask = address.MaskOf(prefix);
        IpAddr network = address.WithValue(address.Value & mask);
        if (network != address)
            throw Invalid($"{field}.subnet: {subnetText} has host bits set; for a /{prefix} the network address is {network}");

        IpAddr gateway = ParseIn(element, "gateway", field, network, prefix) ?? network.Next();
        IpAddr? start = ParseIn(element, "rangeStart", field, network, prefix);
        IpAddr? end = ParseIn(element, "rangeEnd", field, network, prefix);
        IpAddr rangeStart = start ?? network.Next();
        IpAddr rangeEnd = end ?? LastAddress(network, prefix);
        if (rangeStart > rangeEnd)
            throw Invalid($"{field}: rangeStart {rangeStart} is after rangeEnd {rangeEnd}");
        return new AddressRange(network, prefix, rangeStart, rangeEnd, gateway);
    }

    private static IpAddr? ParseIn(ConfigValue element, string key, string field, IpAddr network, int prefix)
    {
        if (GetString(element, key, $"{field}.{key}") is not { } text)
            return null;
        if (!IpAddr.TryParse(text, out IpAddr ip))
            throw Invalid($"{field}.{key}: \"{text}\" is not an IP address");
        if (ip.IsV6 != network.IsV6 || (ip.Value & network.MaskOf(prefix)) != network.Value)
            throw Invalid($"{field}.{key}: {ip} is not in network {network}/{prefix}");
        return ip;
    }

    /// <summary>The last address of a subnet, minus one for IPv4 (the broadcast address).</summary>
    private static IpAddr LastAddress(IpAddr network, int prefix)
    {
        IpAddr last = network.WithValue(network.Value | (~network.MaskOf(prefix) & network.MaxValue));
        return network.IsV6 ? last : last.WithValue(last.Value - 1);
    }

    /// <summary>Parses "address/length" as Go's ParseCIDR does (host bits allowed).</summary>
    internal static bool TryParsePrefix(string text, out IpAddr address, out int prefix, out string? why)
    {
        address = default;
        prefix = 0;
        why = null;
        int slash = text.IndexOf('/');
        if (slash <= 0)
        {
            why = "expected address/length";
            return false;
        }
        ReadOnlySpan<char> addressText = text.AsSpan(0, slash), lengthText = text.AsSpan(slash + 1);
        if (!IpAddr.TryParse(addressText, out address))
        {
            why = "bad address";
            return false;
        }
        if (lengthText.Length is 0 or > 3 || !int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out prefix))
        {
            why = "bad prefix length";
            return false;
        }
        int textBits = addressText.Contains(':') ? 128 : 32;
        if (prefix > textBits)
        {
            why = $"prefix length {prefix} exceeds {textBits}";
            return false;
        }
        if (textBits != address.Bits)
        {
            why = "an IPv4-mapped address with an IPv6 prefix length";
            return false;
        }
        return true;
    }

    private static List<CniRoute> ParseRoutes(ConfigValue array)
    {
        var routes = new List<CniRoute>();
        int i = 0;
        foreach (ConfigValue e in array.EnumerateArray())
        {
            string field = $"ipam.routes[{i++}]";
            if (e.ValueKind != JsonValueKind.Object)
                throw Invalid($"{field} must be an object");
            string dstText = GetString(e, "dst", $"{field}.dst") ?? throw Invalid($"{field}.dst is missing");
            if (!TryParsePrefix(dstText, out IpAddr dst, out int length, out string? why))
                throw Invalid($"{field}.dst: \"{dstText}\" is not a CIDR ({why})");
            var route = new CniRoute { Dst = new IPPrefix(dst.ToIPAddress(), length) };
            if (GetString(e, "gw", $"{field}.gw") is { } gwText)
            {
                if (!IpAddr.TryParse(gwText, out IpAddr gw))
                    throw Invalid($"{field}.gw: \"{gwText}\" is not an IP address");
                route.Gw = gw.ToIPAddress();
            }
            route.Mtu = GetInt(e, "mtu", $"{field}.mtu");
            route.AdvMss = GetInt(e, "advmss", $"{field}.advmss");
            route.Priority = GetInt(e, "priority", $"{field}.priority");
            route.Table = GetInt(e, "table", $"{field}.table");
            route.Scope = GetInt(e, "scope", $"{field}.scope");
            routes.Add(route);
        }
        return routes;
    }

    /// <summary>Adds each address of the array <paramref name="ips"/> (named <paramref name="name"/> in errors) to <paramref name="requested"/>.</summary>
    private static void AddRequested(ConfigValue ips, string name, List<IpAddr> requested)
    {
        int i = 0;
        foreach (ConfigValue e in ips.EnumerateArray())
        {
            string field = $"{name}[{i++}]";
            string text = AsString(e, field);
            if (!TryParseRequested(text, out IpAddr ip))
                throw Invalid($"{field}: \"{text}\" is not an IP address");
            requested.Add(ip);
        }
    }

    /// <summary>A requested address as the reference's pkg/ip ParseIP reads it: <c>ip</c> or <c>ip/prefix</c> (the prefix is
    /// checked and dropped: the range decides it).</summary>
    private static bool TryParseRequested(string text, out IpAddr ip)
    {
        int slash = text.IndexOf('/');
        return IpAddr.TryParse(slash < 0 ? text : text[..slash], out ip) && (slash < 0 || TryParsePrefix(text, out _, out _, out _));
    }

    /// <summary>Go's encoding/json key matching (<see cref="GoJsonKeys.Matches"/>): case-insensitive, the last matching key
    /// wins; JSON null counts as absent. With <paramref name="nullIgnored"/> (Go's string and number fields) a null is
    /// skipped and an earlier value stays, as Go leaves such a field alone; otherwise (pointers, slices) it resets.</summary>
    internal static ConfigValue? Get(ConfigValue obj, string key, bool nullIgnored = false)
    {
        ConfigValue? found = null;
        foreach (ConfigProperty p in obj.EnumerateObject())
        {
            if (GoJsonKeys.Matches(p.Name, key) && !(nullIgnored && p.Value.ValueKind == JsonValueKind.Null))
                found = p.Value;
        }
        return found is { ValueKind: JsonValueKind.Null } ? null : found;
    }

    private static string? GetString(ConfigValue obj, string key, string field)
    {
        if (Get(obj, key, nullIgnored: true) is not { } value)
            return null;
        return AsString(value, field);
    }

    private static string AsString(ConfigValue value, string field) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Invalid($"{field} must be a string");

    private static int? GetInt(ConfigValue obj, string key, string field)
    {
        if (Get(obj, key, nullIgnored: true) is not { } value)
            return null;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) ? n : throw Invalid($"{field} must be an integer");
    }

    private static ConfigValue? GetObject(ConfigValue obj, string key, string field)
    {
        if (Get(obj, key) is not { } value)
            return null;
        return value.ValueKind == JsonValueKind.Object ? value : throw Invalid($"{field} must be an object");
    }

    private static ConfigValue? GetArray(ConfigValue obj, string key, string field)
    {
        if (Get(obj, key) is not { } value)
            return null;
        return value.ValueKind == JsonValueKind.Array ? value : throw Invalid($"{field} must be an array");
    }

    private static CniException Invalid(string message) => new(CniErrorCode.InvalidNetworkConfig, message);
}
