#!/bin/bash
# Captures what iproute2 sends for the requests of RtNetlink.Devices.cs (dummy and vrf links, link alias) and the
# kernel's replies for tun/tap links, into this directory; DeviceGoldenTests compares them with ours.
#
# As root, with iproute2 and strace: tests/Cni.Netlink.Tests/Golden/devices/capture.sh
# Everything runs in a throwaway namespace. The kernel may refuse dummy and vrf links (no module): the requests are
# captured anyway. The alias request names the index of vethg0, which the test reads from the capture itself.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
NS=cnigolddev
cleanup() { ip netns del $NS 2>/dev/null || true; }
trap cleanup EXIT
cleanup; ip netns add $NS
req() { local out=$1; shift; ip netns exec $NS strace -f -o "$out" -e trace=sendmsg,sendto -e write=all -xx -s 65535 ip "$@" || true; }
rep() { local out=$1; shift; ip netns exec $NS strace -f -o "$out" -e trace=recvmsg -e read=all -xx -s 65535 ip "$@" >/dev/null; }
req link-add-dummy.strace link add dummy0 type dummy
req link-add-vrf.strace link add vrf0 type vrf table 10
ip -n $NS link add vethg0 type veth peer name vethg1
req link-set-alias.strace link set dev vethg0 alias "uplink to rack 7"
ip -n $NS tuntap add mode tap name tapg0 multi_queue user 1234 group 5678
ip -n $NS tuntap add mode tap name tapg1
rep link-get-tap-owned.strace -d link show dev tapg0
rep link-get-tap-plain.strace -d link show dev tapg1
rep link-get-veth-alias.strace -d link show dev vethg0
ip -V > VERSION
echo "captured into $(pwd)"
