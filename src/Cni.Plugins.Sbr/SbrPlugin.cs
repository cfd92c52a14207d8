using System.Net;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Sbr;

/// <summary>
/// The <c>sbr</c> (source-based routing) CNI meta plugin, chained after an interface plugin. Inside the container's
/// namespace, for each address <c>prevResult</c> gives the interface, it adds a rule <c>from ADDR lookup TABLE</c>.
/// Without <c>table</c> in the configuration each address gets the first table from <see cref="FirstTableId"/> up that
/// no rule and no route uses, a default route through its gateway (or the configured <c>gateways</c>), and a copy of the
/// interface's routes that belong to it; then the interface's routes leave the main table (with <c>addSourceHints</c>
/// only its non-subnet routes do, and its subnet routes get the address as preferred source). With <c>table</c> only the
/// rules are added. ADD is a transaction; DEL removes the rules of the interface's addresses and, for tables it picked,
/// the routes through the interface; CHECK verifies the rules and tables. The result is <c>prevResult</c>, unchanged.
/// </summary>
public class SbrPlugin : CniPlugin
{
    /// <summary>The first table id tried (the reference's).</summary>
    public const uint FirstTableId = 100;

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI sbr plugin (Cni.NET)" };

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        SbrSettings conf = SbrSettings.Load(request);
        CniResult prev = request.Config.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "This plugin must be called as chained plugin (prevResult is missing)");
        List<CniIPConfig> ips = SelectAddresses(prev, request.IfName);
        TextWriter log = request.Environment.Stderr;

        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        using NetnsLock held = NetnsLock.Take(container.Path);
        RtNetlink nl = container.Netlink;
        await using var tx = new AddTransaction(log);
        if (ips.Count == 0)
        {
            // The reference would still move every route of the interface out of main, leaving it unroutable.
            log.WriteLine($"sbr: prevResult has no address on {request.IfName}; nothing to do");
        }
        else if (conf.Table is uint table)
        {
            foreach (CniIPConfig ip in ips)
                AddRule(nl, ip.Address.Address, table, tx);
        }
        else
        {
            MoveRoutes(nl, ips, request.IfName, conf, tx, log);
        }
        tx.Commit();
        return prev;
    }

    /// <summary>The addresses of <paramref name="prev"/> that belong to <paramref name="ifName"/>: those whose
    /// <c>interface</c> names it, and those without a (valid) interface index, as the reference selects them.</summary>
    /// <exception cref="CniException"><paramref name="prev"/> has no address at all (7).</exception>
    internal static List<CniIPConfig> SelectAddresses(CniResult prev, string ifName)
    {
        if (prev.Ips.Count == 0)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"No IP addresses supplied on interface: {ifName} (prevResult.ips)");
        return prev.Ips.Where(ip => ip.Interface is not int i || i < 0 || i >= prev.Interfaces.Count || prev.Interfaces[i].Name == ifName).ToList();
    }

    /// <summary>The first table from <paramref name="candidate"/> up that no rule looks up and no route lives in.</summary>
    internal static uint NextFreeTable(IReadOnlyCollection<Rule> rules, IReadOnlyCollection<Route> routes, uint candidate)
    {
        var used = new HashSet<uint>(rules.Select(r => r.Table ?? 0));
        used.UnionWith(routes.Select(r => r.Table ?? RouteTable.Main));
        uint table = candidate;
        while (used.Contains(table))
            table = checked(table + 1);
        return table;
    }

    /// <summary>True when route <paramref name="r"/> of the interface belongs to address <paramref name="ip"/>'s table:
    /// its preferred source or gateway is in the address's subnet, or it has neither (a generic route).</summary>
    internal static bool BelongsTo(Route r, IPPrefix ip) =>
        (r.PreferredSource is { } src && ip.Contains(src)) || (r.Gateway is { } gw && ip.Contains(gw))
        || (r.PreferredSource is null && r.Gateway is null);

    /// <summary><paramref name="r"/> as it goes into <paramref name="table"/> (flags dropped, as the reference does).</summary>
    internal static Route CopyTo(Route r, uint table) => new()
    {
        Family = r.EffectiveFamily,
        Destination = r.Destination,
        PrefixLength = r.PrefixLength,
        Gateway = r.Gateway,
        OutputLinkIndex = r.OutputLinkIndex,
        Scope = r.Scope,
        Table = table,
        Priority = r.Priority,
        PreferredSource = r.PreferredSource,
        Mtu = r.Mtu,
        AdvMss = r.AdvMss,
        Protocol = r.Protocol,
        Type = r.Type,
    };

    private static List<Route> ListAllRoutes(RtNetlink nl)
    {
        var all = new List<Route>(nl.ListRoutes(AddressFamily.InterNetwork, new RouteFilter { Table = RouteTable.Unspecified }));
        all.AddRange(nl.ListRoutes(AddressFamily.InterNetworkV6, new RouteFilter { Table = RouteTable.Unspecified }));
        return all;
    }

    private static void AddRule(RtNetlink nl, IPAddress source, uint table, AddTransaction tx)
    {
        var rule = new Rule { Source = source, Table = table };
        try
        {
            nl.AddRule(rule);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"Failed to add rule from {source} lookup {table}: {ex.Message}");
        }
        tx.OnRollback($"delete rule {rule}", () => IgnoreNotFound(() => nl.DeleteRule(rule)));
    }

    private static void MoveRoutes(RtNetlink nl, List<CniIPConfig> ips, string ifName, SbrSettings conf, AddTransaction tx, TextWriter log)
    {
        IReadOnlyList<Rule> rules = nl.ListRules();
        List<Route> routes = ListAllRoutes(nl);
        uint table = NextFreeTable(rules, routes, FirstTableId);
        Link link = nl.FindLink(ifName) ?? throw new CniException(CniErrorCode.Internal, $"Cannot find network interface {ifName}");
        List<Route> linkRoutes = routes.Where(r => r.OutputLinkIndex == link.Index && r.Table == RouteTable.Main).ToList();

        foreach (CniIPConfig ip in ips)
        {
            AddRule(nl, ip.Address.Address, table, tx);
            AddressFamily family = ip.Address.Family;
            IPAddress? staticGateway = conf.StaticGateway(family);
            if ((staticGateway ?? ip.Gateway) is IPAddress gw)
            {
                var def = new Route { Family = family, Destination = family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, Gateway = gw, Table = table, OutputLinkIndex = link.Index };
                try
                {
                    nl.AddRoute(def);
                }
                catch (NetlinkException ex)
                {
                    throw new CniException(CniErrorCode.Internal, $"Failed to add default route to {gw} in table {table}: {ex.Message}");
                }
                tx.OnRollback($"delete {def}", () => IgnoreNotFound(() => nl.DeleteRoute(def)));
            }
            // A configured gateway wins: main's default route of the family is not copied over it (the reference's
            // replace would put prevResult's gateway back).
            foreach (Route r in linkRoutes.Where(r => BelongsTo(r, ip.Address) && !(staticGateway is not null && r.IsDefault && r.EffectiveFamily == family)))
            {
                // Replace: the default route just added may be among them.
                Route copy = CopyTo(r, table);
                try
                {
                    nl.ReplaceRoute(copy);
                }
                catch (NetlinkException ex)
                {
                    throw new CniException(CniErrorCode.Internal, $"Failed to copy route {r} to table {table}: {ex.Message}");
                }
                tx.OnRollback($"delete {copy}", () => IgnoreNotFound(() => nl.DeleteRoute(copy)));
            }
            // The next address gets its own table.
            table = NextFreeTable(rules, routes, checked(table + 1));
        }

        // Only now, so that several addresses of one subnet each found their routes (and gateways stayed reachable).
        if (!conf.AddSourceHints)
        {
            foreach (Route r in linkRoutes)
                DeleteFromMain(nl, r, tx, required: true, log);
            return;
        }
        foreach (CniIPConfig ip in ips)
        {
            IPPrefix subnet = ip.Address.Network;
            var hinted = new Route
            {
                Destination = subnet.Address, PrefixLength = subnet.PrefixLength, PreferredSource = ip.Address.Address,
                Table = RouteTable.Main, Scope = RouteScope.Link, OutputLinkIndex = link.Index,
            };
            Route? original = linkRoutes.FirstOrDefault(r => subnet.Address.Equals(r.Destination) && r.PrefixLength == subnet.PrefixLength);
            try
            {
                nl.ReplaceRoute(hinted);
                tx.OnRollback($"restore the route to {subnet}", () =>
                {
                    if (original is null) IgnoreNotFound(() => nl.DeleteRoute(hinted));
                    else nl.ReplaceRoute(original);
                });
            }
            catch (NetlinkException ex)
            {
                log.WriteLine($"sbr: warning: failed to add the route to {subnet} with source {ip.Address.Address} to the main table: {ex.Message}");
            }
        }
        foreach (Route r in linkRoutes.Where(r => r.Scope != RouteScope.Link))
            DeleteFromMain(nl, r, tx, required: false, log);
    }

    private static void DeleteFromMain(RtNetlink nl, Route r, AddTransaction tx, bool required, TextWriter log)
    {
        try
        {
            nl.DeleteRoute(r);
        }
        catch (NetlinkException ex)
        {
            if (required)
                throw new CniException(CniErrorCode.Internal, $"Failed to delete route {r}: {ex.Message}");
            log.WriteLine($"sbr: warning: failed to delete route {r}: {ex.Message}");
            return;
        }
        tx.OnRollback($"restore {r}", () => nl.ReplaceRoute(CopyTo(r, RouteTable.Main)));
    }

    private static void IgnoreNotFound(Action action)
    {
        try
        {
            action();
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
        }
    }

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        SbrSettings conf = SbrSettings.Load(request);
        using ContainerNamespace? container = ContainerNamespace.TryOpen(request.NetNs);
        if (container is null)
            return Task.CompletedTask;
        using NetnsLock held = NetnsLock.Take(container.Path);
        if (container.TryConnect() is not RtNetlink nl)
            return Task.CompletedTask;

        Link? link = nl.FindLink(request.IfName);
        // The interface's live addresses, and those prevResult gave it (the interface may be gone already).
        var addresses = new HashSet<IPAddress>();
        if (link is not null)
            addresses.UnionWith(nl.ListAddresses(link.Index).Select(a => a.IPAddress));
        if (request.Config.PrevResult is { Ips.Count: > 0 } prev)
            addresses.UnionWith(SelectAddresses(prev, request.IfName).Select(ip => ip.Address.Address));
        if (addresses.Count == 0)
            return Task.CompletedTask;

        CniException? failure = null;
        var tables = new HashSet<uint>();
        foreach (Rule rule in nl.ListRules())
        {
            if (rule.Source is null || !addresses.Contains(rule.Source) || (conf.Table is uint t && rule.Table != t))
                continue;
            try
            {
                nl.DeleteRule(rule);
                if (rule.Table is uint table && table is not (RouteTable.Main or RouteTable.Local or RouteTable.Default))
                    tables.Add(table);
            }
            catch (NetlinkException ex) when (ex.IsNotFound)
            {
            }
            catch (NetlinkException ex)
            {
                // Keep going; report the last failure, as the reference.
                failure = new CniException(CniErrorCode.Internal, $"Failed to delete rule {rule}: {ex.Message}");
            }
        }

        // The tables ADD picked hold copies of the interface's routes: remove them (a configured table is not ours).
        if (conf.Table is null && link is not null && tables.Count > 0)
        {
            foreach (Route r in ListAllRoutes(nl).Where(r => r.Table is uint t && tables.Contains(t) && r.OutputLinkIndex == link.Index))
            {
                try
                {
                    nl.DeleteRoute(r);
                }
                catch (NetlinkException ex) when (ex.IsNotFound)
                {
                }
                catch (NetlinkException ex)
                {
                    failure = new CniException(CniErrorCode.Internal, $"Failed to delete route {r}: {ex.Message}");
                }
            }
        }
        if (failure is not null)
            throw failure;
        return Task.CompletedTask;
    }

    // =====================================================================================================
    // CHECK
    // =====================================================================================================

    /// <inheritdoc/>
    /// <remarks>The reference checks nothing; this verifies that every address of the interface still has its rule and,
    /// for tables ADD picked, that the table still routes through the interface (and through the gateway).</remarks>
    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        SbrSettings conf = SbrSettings.Load(request);
        CniResult prev = InterfaceChecks.RequirePrevResult(request);
        List<CniIPConfig> ips = SelectAddresses(prev, request.IfName);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        RtNetlink nl = container.Netlink;
        IReadOnlyList<Rule> rules = nl.ListRules();
        Link? link = conf.Table is null && ips.Count > 0
            ? nl.FindLink(request.IfName) ?? throw new CniException(CniErrorCode.Internal, $"Cannot find network interface {request.IfName}")
            : null;
        List<Route>? routes = link is null ? null : ListAllRoutes(nl);
        foreach (CniIPConfig ip in ips)
        {
            IPAddress a = ip.Address.Address;
            int host = a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            Rule? rule = rules.FirstOrDefault(r => a.Equals(r.Source) && r.SourcePrefixLength == host
                && r.Action == RuleAction.ToTable && (conf.Table is null || r.Table == conf.Table));
            if (rule is null)
                throw new CniException(CniErrorCode.Internal, conf.Table is uint t
                    ? $"sbr: the rule \"from {a} lookup {t}\" for {request.IfName} is missing"
                    : $"sbr: no rule \"from {a} lookup N\" for {request.IfName}");
            if (link is null || routes is null)
                continue;
            uint table = rule.Table ?? 0;
            List<Route> inTable = routes.Where(r => r.Table == table && r.OutputLinkIndex == link.Index).ToList();
            if (inTable.Count == 0)
                throw new CniException(CniErrorCode.Internal, $"sbr: table {table} of {a} has no route through {request.IfName}");
            if ((conf.StaticGateway(ip.Address.Family) ?? ip.Gateway) is IPAddress gw
                && !inTable.Any(r => r.IsDefault && gw.Equals(r.Gateway)))
                throw new CniException(CniErrorCode.Internal, $"sbr: table {table} of {a} has no default route via {gw}");
        }
        return Task.CompletedTask;
    }
}
