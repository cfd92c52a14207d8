using System.Net;
using System.Net.Sockets;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Firewall;

/// <summary>
/// The iptables side of the plugin: the reference's <c>CNI-FORWARD</c>/admin chains with one pair of rules per
/// container address, and the per-bridge isolation chains of the <c>ingressPolicy</c>, through <c>iptables</c> and
/// <c>ip6tables</c> run by an <see cref="ICommandRunner"/>. Shared chains and jumps are created when missing and never
/// removed (other containers use them), as the reference does; only a container's own rules come and go.
/// </summary>
public sealed class IptablesBackend
{
    private readonly ICommandRunner _runner;

    /// <summary>Creates the backend.</summary>
    /// <param name="runner">Runs <c>iptables</c> and <c>ip6tables</c>.</param>
    public IptablesBackend(ICommandRunner runner) => _runner = runner ?? throw new ArgumentNullException(nameof(runner));

    /// <summary>The address families of <paramref name="result"/>'s addresses, IPv4 first, each once.</summary>
    public static IReadOnlyList<AddressFamily> Families(CniResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var families = new List<AddressFamily>(2);
        foreach (AddressFamily f in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            if (result.Ips.Any(ip => FamilyOf(ip.Address.Address) == f))
                families.Add(f);
        }
        return families;
    }

    internal static AddressFamily FamilyOf(IPAddress a) => a.IsIPv4MappedToIPv6 ? AddressFamily.InterNetwork : a.AddressFamily;

    private static IEnumerable<string[]> AddressRules(CniResult result, AddressFamily family) =>
        result.Ips.Where(ip => FamilyOf(ip.Address.Address) == family).SelectMany(ip => IptablesRules.AddressRules(ip.Address.Address));

    /// <summary>ADD: ensures the chains and jumps, then appends the container's rules, each registered for rollback.
    /// IPv4 and IPv6 are independent tables and run concurrently (each tool run costs milliseconds).</summary>
    public Task AddAsync(FirewallSettings settings, CniResult result, AddTransaction tx, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(tx);
        Tool[] tools = Families(result).Select(Open).ToArray(); // every tool found before anything changes
        return Task.WhenAll(tools.Select(ipt => AddFamilyAsync(ipt, settings, result, tx, ct)));
    }

    private static async Task AddFamilyAsync(Tool ipt, FirewallSettings settings, CniResult result, AddTransaction tx, CancellationToken ct)
    {
        await ipt.EnsureChainAsync(IptablesRules.PrivateChain, ct).ConfigureAwait(false);
        await ipt.EnsureChainAsync(settings.AdminChain, ct).ConfigureAwait(false);
        await ipt.InsertUniqueAsync(IptablesRules.ForwardChain, IptablesRules.ForwardJump(), prepend: true, ct).ConfigureAwait(false);
        await ipt.InsertUniqueAsync(IptablesRules.PrivateChain, IptablesRules.AdminJump(settings.AdminChain), prepend: true, ct).ConfigureAwait(false);
        foreach (string[] rule in AddressRules(result, ipt.Family))
        {
            if (await ipt.InsertUniqueAsync(IptablesRules.PrivateChain, rule, prepend: false, ct).ConfigureAwait(false))
                tx.OnRollback($"{ipt.Name} -D {IptablesRules.PrivateChain} {IptablesRules.Format(rule)}", () => ipt.DeleteAsync(IptablesRules.PrivateChain, rule, CancellationToken.None));
        }
    }

    /// <summary>
    /// The ingress policy's isolation chains for <paramref name="bridge"/>, for each family of <paramref name="result"/>
    /// (nothing for <see cref="IngressPolicy.Open"/>). Run whatever the backend, as the reference does.
    /// </summary>
    public Task SetupIsolationAsync(IngressPolicy policy, string bridge, CniResult result, CancellationToken ct)
    {
        if (policy == IngressPolicy.Open)
            return Task.CompletedTask;
        return Task.WhenAll(Families(result).Select(Open).ToArray().Select(async ipt =>
        {
            await ipt.EnsureChainAsync(IptablesRules.IsolationStage1, ct).ConfigureAwait(false);
            await ipt.EnsureChainAsync(IptablesRules.IsolationStage2, ct).ConfigureAwait(false);
            foreach (IptablesRules.IsolationRule r in IptablesRules.IsolationRules(bridge, policy))
                await ipt.InsertUniqueAsync(r.Chain, r.Rule, r.Prepend, ct).ConfigureAwait(false);
        }));
    }

    /// <summary>DEL: deletes the container's rules; missing rules, chains and tools are success.</summary>
    public Task DelAsync(CniResult result, CancellationToken ct) =>
        Task.WhenAll(Families(result).Select(TryOpen).OfType<Tool>().ToArray().Select(async ipt => // no tool: no rules of ours
        {
            foreach (string[] rule in AddressRules(result, ipt.Family))
                await ipt.DeleteAsync(IptablesRules.PrivateChain, rule, ct).ConfigureAwait(false);
        }));

    /// <summary>CHECK: the chains, both jumps, the container's rules and (for a policy other than open) the bridge's
    /// isolation rules must all be there; the error names the first one missing.</summary>
    /// <param name="settings">The configuration.</param>
    /// <param name="bridge">The bridge of the isolation rules; null for the open policy.</param>
    /// <param name="result">The previous result.</param>
    /// <param name="isolationOnly">Check only the isolation rules (the firewalld backend still isolates with iptables).</param>
    /// <param name="ct">Cancels the check.</param>
    public async Task CheckAsync(FirewallSettings settings, string? bridge, CniResult result, bool isolationOnly, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        foreach (AddressFamily family in Families(result))
        {
            Tool ipt = Open(family);
            if (!isolationOnly)
                await CheckContainerRulesAsync(ipt, settings, result, family, ct).ConfigureAwait(false);
            if (settings.Policy != IngressPolicy.Open && bridge is not null)
            {
                foreach (IptablesRules.IsolationRule r in IptablesRules.IsolationRules(bridge, settings.Policy))
                {
                    if (r.Legacy is null || !await ipt.ExistsAsync(r.Chain, r.Legacy, ct).ConfigureAwait(false))
                        await ipt.RequireAsync(r.Chain, r.Rule, ct).ConfigureAwait(false);
                }
            }
        }
    }

    private static async Task CheckContainerRulesAsync(Tool ipt, FirewallSettings settings, CniResult result, AddressFamily family, CancellationToken ct)
    {
        // Every look at once (each is an iptables process of its own, and none changes anything); the error still
        // names the first thing missing, in the order the reference checks them.
        var chains = new[] { IptablesRules.PrivateChain, settings.AdminChain }.Select(c => (Chain: c, Found: ipt.ChainExistsAsync(c, ct))).ToList();
        var rules = new List<(string Chain, string[] Rule)>
        {
            (IptablesRules.ForwardChain, IptablesRules.ForwardJump()),
            (IptablesRules.PrivateChain, IptablesRules.AdminJump(settings.AdminChain)),
        };
        rules.AddRange(AddressRules(result, family).Select(r => (IptablesRules.PrivateChain, r)));
        var looks = rules.Select(r => (r.Chain, r.Rule, Found: ipt.ExistsAsync(r.Chain, r.Rule, ct))).ToList();
        try
        {
            foreach ((string chain, Task<bool> found) in chains)
            {
                if (!await found.ConfigureAwait(false))
                    throw new CniException(CniErrorCode.Internal, $"{ipt.Name}: chain {chain} not found in table {IptablesRules.Table}");
            }
            foreach ((string chain, string[] rule, Task<bool> found) in looks)
            {
                if (!await found.ConfigureAwait(false))
                    throw new CniException(CniErrorCode.Internal, $"{ipt.Name}: expected rule not found in chain {chain}: {IptablesRules.Format(rule)}");
            }
        }
        finally
        {
            // Nothing left running behind an early answer.
            await Task.WhenAll(chains.Select(c => (Task)c.Found).Concat(looks.Select(l => (Task)l.Found))).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    private Tool Open(AddressFamily family) =>
        TryOpen(family) ?? throw new CniException(CniErrorCode.Internal, $"could not initialize iptables protocol {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")}: {ToolName(family)} not found");

    private Tool? TryOpen(AddressFamily family)
    {
        string name = ToolName(family);
        string? path = _runner.Find(name);
        return path is null ? null : new Tool(_runner, name, path, family);
    }

    private static string ToolName(AddressFamily family) => family == AddressFamily.InterNetwork ? "iptables" : "ip6tables";

    /// <summary>One of iptables/ip6tables on the filter table, with go-iptables' meaning of exit codes (1: no such rule).</summary>
    private sealed class Tool(ICommandRunner runner, string name, string path, AddressFamily family)
    {
        public string Name => name;

        public AddressFamily Family => family;

        private Task<CommandOutput> RunAsync(CancellationToken ct, params string[] args) =>
            runner.RunAsync(path, ["-w", "-t", IptablesRules.Table, .. args], null, ct);

        private CniException Failure(string[] args, CommandOutput o) =>
            new(CniErrorCode.Internal, $"{name} -t {IptablesRules.Table} {IptablesRules.Format(args)} failed (exit {o.ExitCode}): {o.Stderr.Trim()}");

        public async Task EnsureChainAsync(string chain, CancellationToken ct)
        {
            if (await ChainExistsAsync(chain, ct).ConfigureAwait(false))
                return;
            CommandOutput o = await RunAsync(ct, "-N", chain).ConfigureAwait(false);
            // Another plugin run may create it between the look and the creation.
            if (!o.Succeeded && !o.Stderr.Contains("exists", StringComparison.OrdinalIgnoreCase))
                throw Failure(["-N", chain], o);
        }

        public async Task<bool> ChainExistsAsync(string chain, CancellationToken ct) =>
            (await RunAsync(ct, "-S", chain).ConfigureAwait(false)).Succeeded;

        public async Task<bool> ExistsAsync(string chain, string[] rule, CancellationToken ct)
        {
            string[] args = ["-C", chain, .. rule];
            CommandOutput o = await RunAsync(ct, args).ConfigureAwait(false);
            return o.ExitCode switch
            {
                0 => true,
                1 => false,
                _ => throw Failure(args, o),
            };
        }

        /// <summary>Adds the rule unless it is there; true when this call added it.</summary>
        public async Task<bool> InsertUniqueAsync(string chain, string[] rule, bool prepend, CancellationToken ct)
        {
            if (await ExistsAsync(chain, rule, ct).ConfigureAwait(false))
                return false;
            string[] args = prepend ? ["-I", chain, "1", .. rule] : ["-A", chain, .. rule];
            CommandOutput o = await RunAsync(ct, args).ConfigureAwait(false);
            if (!o.Succeeded)
                throw Failure(args, o);
            return true;
        }

        public async Task RequireAsync(string chain, string[] rule, CancellationToken ct)
        {
            if (!await ExistsAsync(chain, rule, ct).ConfigureAwait(false))
                throw new CniException(CniErrorCode.Internal, $"{name}: expected rule not found in chain {chain}: {IptablesRules.Format(rule)}");
        }

        /// <summary>Deletes the rule; a rule or chain that is not there is success.</summary>
        public async Task DeleteAsync(string chain, string[] rule, CancellationToken ct)
        {
            string[] args = ["-D", chain, .. rule];
            CommandOutput o = await RunAsync(ct, args).ConfigureAwait(false);
            if (!o.Succeeded && o.ExitCode != 1)
                throw Failure(args, o);
        }
    }
}
