using BenchmarkDotNet.Running;
using Cni.Netlink.Benchmarks;

// dotnet run -c Release -- churn [N]     veth create+delete through Cni.Netlink vs ip -batch (root)
// dotnet run -c Release -- [BenchmarkDotNet args, e.g. --filter *]   message-building allocations
if (args.Length > 0 && args[0] == "churn")
    return VethChurn.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000);
BenchmarkSwitcher.FromAssembly(typeof(MessageBuildBenchmarks).Assembly).Run(args);
return 0;
