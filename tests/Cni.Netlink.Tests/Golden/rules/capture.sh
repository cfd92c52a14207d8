#!/bin/bash
# Re-captures the golden FIB rule bytes (RTM_NEWRULE/RTM_DELRULE/RTM_GETRULE) that Cni.Netlink's rule encoder and
# decoder are compared against (RuleGoldenTests). Same method as ../capture.sh: as root, with iproute2 and strace,
#     tests/Cni.Netlink.Tests/Golden/rules/capture.sh
# runs each `ip rule` case under strace inside a throwaway namespace and writes <case>.strace (requests: what ip
# sent) and reply-<case>.strace (what the kernel answered to a dump). iproute2 version: VERSION.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
NS=cnigoldenrule
cleanup() { ip netns del $NS 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add $NS
rm -f ./*.strace
ip -V > VERSION
req() { local name=$1; shift; ip netns exec $NS strace -f -o "$name.strace" -e trace=sendmsg,sendto -e write=all -xx -s 65535 "$@"; }
rep() { local name=$1; shift; ip netns exec $NS strace -f -o "reply-$name.strace" -e trace=recvmsg -e read=all -xx -s 65535 "$@" >/dev/null; }

req rule-add-v4              ip rule add from 10.0.0.2 table 100 prio 100
req rule-add-v4-noprio       ip rule add from 10.0.0.3 table 101
req rule-add-v4-table-1000   ip rule add from 10.0.0.4 table 1000 prio 300
req rule-add-v4-to           ip rule add from 10.0.0.5/32 to 10.2.0.0/16 table 102 prio 200
req rule-add-v6              ip -6 rule add from fd00::2 table 100 prio 100
req rule-add-v6-noprio       ip -6 rule add from fd00::3/128 table 101
req rule-dump-v4             ip -4 rule show
req rule-dump-v6             ip -6 rule show
rep rule-dump-v4             ip -4 rule show
rep rule-dump-v6             ip -6 rule show
ip netns exec $NS ip -4 rule show > SHOWN
ip netns exec $NS ip -6 rule show >> SHOWN
req rule-del-v4              ip rule del from 10.0.0.2 table 100 prio 100
req rule-del-v4-table-1000   ip rule del from 10.0.0.4 table 1000 prio 300
req rule-del-v6              ip -6 rule del from fd00::2 table 100 prio 100
echo "captured into $(pwd)"
