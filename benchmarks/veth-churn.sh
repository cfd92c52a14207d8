#!/bin/bash
# Creates and deletes N (default 1000) veth pairs through Cni.Netlink and through `ip -batch`, each in a
# throwaway network namespace, and prints both times and the ratio. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project benchmarks/Cni.Netlink.Benchmarks -- churn "${1:-1000}"
