#!/bin/bash
# Captures what iproute2 sends to create the VRF the vrf plugin creates, into vrf-table10.strace next to this script.
#
# As root, with iproute2 and strace: tests/Cni.Plugins.Vrf.Tests/Golden/capture.sh
# The plugin creates the VRF inside the container namespace, so the capture runs `ip link add vrf0 type vrf table 10`
# inside a fresh namespace. The kernel may refuse it (no vrf module): the request is captured anyway. nlmsg_seq and
# nlmsg_pid are zeroed by the tests on both sides.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
P=cnigoldvrf
cleanup() { ip netns del $P 2>/dev/null || true; }
trap cleanup EXIT
cleanup; ip netns add $P
ip netns exec $P strace -f -o vrf-table10.strace -e trace=sendmsg,sendto -e write=all -xx -s 65535 ip link add vrf0 type vrf table 10 || true
ip -V > VERSION
echo "captured into $(pwd)"
