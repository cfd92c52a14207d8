#!/bin/bash
# Re-captures the golden traffic-control (tc) netlink bytes that Cni.Netlink's tc encoders are compared against
# (Protocol/TcGoldenTests.cs), the way ../capture.sh does for links, addresses and routes.
#
# How: as root, with iproute2 and strace installed, run tests/Cni.Netlink.Tests/Golden/tc/capture.sh
# Each case runs `tc`/`ip` under strace inside a throwaway network namespace (cnigoldentc) and writes
# <case>.strace (requests: sendmsg/sendto with write=all; replies: recvmsg with read=all).
# Indexes are pinned by the order of creation in the fresh namespace: lo=1, veth1=2, veth0=3, ifb0=4.
# /proc/net/psched of the capture machine: see PSCHED (tc's ticks per microsecond enter the TBF buffer).
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
NS=cnigoldentc
cleanup() { ip netns del $NS 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add $NS
rm -f $(ls ./*.strace | grep -v reference-)   # reference-*.strace: captures of the Go plugin, kept
tc -V > VERSION
cat /proc/net/psched > PSCHED
req() { local name=$1; shift; echo "== $name" >&2; ip netns exec $NS strace -f -o "$name.strace" -e trace=sendmsg,sendto -e write=all -xx -s 65535 "$@"; }
rep() { local name=$1; shift; ip netns exec $NS strace -f -o "$name.strace" -e trace=recvmsg -e read=all -xx -s 65535 "$@" >/dev/null; }
run() { ip netns exec $NS "$@"; }

run ip link add veth0 type veth peer name veth1                              # veth1=2 veth0=3
run ip link set veth0 up
req link-add-ifb            ip link add name ifb0 mtu 1400 txqueuelen 1000 up type ifb   # ifb0=4
# 100000 bytes/s, burst 10000 bytes, limit = 100000*0.025 + 10000 (the bandwidth plugin's 25 ms latency)
req qdisc-add-tbf           tc qdisc add dev veth0 root handle 1: tbf rate 800000bit burst 10000 limit 12500
# 5 GB/s: over 32 bits, so TCA_TBF_RATE64 is sent too
req qdisc-add-tbf-rate64    tc qdisc add dev ifb0 root handle 1: tbf rate 40000000000bit burst 4000000 limit 129000000
req qdisc-add-ingress       tc qdisc add dev veth0 handle ffff: ingress
req filter-add-u32-mirred   tc filter add dev veth0 parent ffff: protocol all prio 1 u32 match u32 0 0 flowid 1:1 action mirred egress redirect dev ifb0
req qdisc-dump              tc qdisc show dev veth0
req filter-dump             tc filter show dev veth0 parent ffff:
rep filter-dump-reply       tc filter show dev veth0 parent ffff:
rep qdisc-dump-reply        tc qdisc show dev veth0
rep qdisc-dump-ifb-reply    tc qdisc show dev ifb0
req qdisc-del-ingress       tc qdisc del dev veth0 handle ffff: ingress
req qdisc-del-root          tc qdisc del dev veth0 root handle 1:
# --- htb (the bandwidth plugin's layout with shaped/unshaped subnets); added after the cases above, indexes unchanged ---
# "default 30" is hex in tc: minor 0x30 = 48, the reference's shaped class.
req qdisc-add-htb           tc qdisc add dev veth0 root handle 1: htb default 30
req class-add-htb           tc class add dev veth0 parent 1: classid 1:30 htb rate 800000bit burst 10000 ceil 1600000bit cburst 10000
req class-add-htb-rate64    tc class add dev veth0 parent 1: classid 1:1 htb rate 800000000000bit ceil 800000000000bit
req filter-add-u32-ip-dst   tc filter add dev veth0 parent 1: protocol ip prio 16 u32 match ip dst 10.128.0.0/9 flowid 1:1
req filter-add-u32-ip6-dst  tc filter add dev veth0 parent 1: protocol ipv6 prio 15 u32 match ip6 dst fd00:1:2:3:4::/72 flowid 1:1
req class-dump              tc class show dev veth0
rep class-dump-reply        tc class show dev veth0
