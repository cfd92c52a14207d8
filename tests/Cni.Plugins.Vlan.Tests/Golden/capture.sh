#!/bin/bash
# Captures what iproute2 sends for the link the vlan plugin creates, into <case>.strace next to this script.
#
# As root, with iproute2 and strace: tests/Cni.Plugins.Vlan.Tests/Golden/capture.sh
# Each case runs in fresh namespaces set up exactly as the tests set them up (so interface indexes match: lo=1, then a
# veth pair whose first end is the master), under the final name eth0 (CNI_IFNAME), as the plugin creates it. The kernel may refuse the link (no 8021q module): the request is captured
# anyway. nlmsg_seq, nlmsg_pid and the IFLA_NET_NS_FD number are zeroed by the test on both sides.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
H=cnigoldh; P=cnigoldp
cleanup() { ip netns del $H 2>/dev/null || true; ip netns del $P 2>/dev/null || true; }
trap cleanup EXIT
strace_ip() { local out=$1 ns=$2; shift 2; ip netns exec "$ns" strace -f -o "$out" -e trace=sendmsg,sendto -e write=all -xx -s 65535 ip "$@" || true; }
fresh() {
  cleanup; ip netns add $H; ip netns add $P
  ip -n $H link set lo up; ip -n $P link set lo up
}
veth() { ip -n "$1" link add "$2" mtu 1500 type veth peer name "$2p"; ip -n "$1" link set "$2" up; ip -n "$1" link set "$2p" up; }

# master in the host, link created straight in the pod
fresh; veth $H hv0
strace_ip vlan-host.strace $H link add link hv0 name eth0 mtu 1400 netns $P type vlan id 42
# linkInContainer: master in the pod
fresh; veth $P dm0
strace_ip vlan-in-container.strace $P link add link dm0 name eth0 mtu 1400 type vlan id 42
ip -V > VERSION
echo "captured into $(pwd)"
