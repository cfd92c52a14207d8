#!/bin/bash
# Captures the kernel's RTM_NEWLINK reply for a veth (what `ip -d link show` reads) into replies/link-get-veth.strace.
# As root, with iproute2 and strace; everything happens in two throwaway namespaces. GoldenReplyTests.VethReply checks
# the values set here: vethg0 (mtu 1400, 02:00:00:00:00:0a, up) in NS, its peer vethg1 in PEER.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
NS=cnigoldveth; PEER=cnigoldvethp
cleanup() { ip netns del $NS 2>/dev/null || true; ip netns del $PEER 2>/dev/null || true; }
trap cleanup EXIT
cleanup; ip netns add $NS; ip netns add $PEER
ip -n $NS link add vethg0 mtu 1400 address 02:00:00:00:00:0a type veth peer name vethg1 netns $PEER
ip -n $NS link set vethg0 up
ip netns exec $NS strace -f -o replies/link-get-veth.strace -e trace=recvmsg -e read=all -xx -s 65535 ip -d link show dev vethg0 >/dev/null
echo "captured into $(pwd)/replies/link-get-veth.strace"
