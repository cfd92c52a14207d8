#!/bin/bash
# Captures what iproute2 sends to create the link the dummy plugin creates, into dummy.strace next to this script.
#
# As root, with iproute2 and strace: tests/Cni.Plugins.Dummy.Tests/Golden/capture.sh
# The plugin creates the link inside the container namespace under its final name (CNI_IFNAME, eth0 here), so the
# capture runs `ip link add eth0 type dummy` inside a fresh namespace. The kernel may refuse the link (no dummy
# module): the request is captured anyway. nlmsg_seq and nlmsg_pid are zeroed by the tests on both sides.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
P=cnigolddummy
cleanup() { ip netns del $P 2>/dev/null || true; }
trap cleanup EXIT
cleanup; ip netns add $P
ip netns exec $P strace -f -o dummy.strace -e trace=sendmsg,sendto -e write=all -xx -s 65535 ip link add eth0 type dummy || true
ip -V > VERSION
echo "captured into $(pwd)"
