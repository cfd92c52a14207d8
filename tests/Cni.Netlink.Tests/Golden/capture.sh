#!/bin/bash
# Re-captures the golden netlink bytes that Cni.Netlink's encoder is compared against.
#
# How: as root, with iproute2 and strace installed (apt-get install strace iproute2), run
#     tests/Cni.Netlink.Tests/Golden/capture.sh
# Every case runs `ip`/`bridge` under
#     strace -f -e trace=sendmsg,sendto -e write=all -xx -s 65535
# (or recvmsg/read=all for kernel replies) inside a throwaway network namespace
# and writes the raw strace text to requests/<case>.strace (replies/<case>.strace).
# GoldenRequestTests runs the same operation through RtNetlink over a fake transport and
# requires our request to equal, byte for byte, one of the netlink messages of the same
# nlmsg_type that iproute2 sent in that file, after zeroing nlmsg_seq and nlmsg_pid on both
# sides (iproute2's seq-0 capability probe and trailing zero padding of dump buffers are
# ignored). GoldenReplyTests parses replies/*.strace and checks the values `ip` printed
# (requests/INDEXES).
#
# Machine-dependent values are pinned instead of normalised: the cases run in a fresh
# namespace (cnigolden) where interface indexes are deterministic (lo=1, then in order of
# creation, failed creations included; see requests/INDEXES: br0=2 br1=3 veth1=5 veth0=6
# vethm1=8 vethm0=9 mv0=10), and `ip ... netns cnigolden2` opens that namespace as fd 4,
# the value the tests pass as IFLA_NET_NS_FD. Re-capturing keeps these values as long as
# the case list above a case is unchanged; add new cases at the end of their section.
# iproute2 version of the checked-in files: requests/VERSION (iproute2-6.1.0).
# vlan, ipvlan and vlan_filtering/bridge VLAN requests are refused by the capture kernel
# (no 8021q, no ipvlan, no CONFIG_BRIDGE_VLAN_FILTERING): the requests are still sent
# and captured, and replies/error-vlan.strace holds the kernel's EOPNOTSUPP answer.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
NS=cnigolden
NS2=cnigolden2
cleanup() { ip netns del $NS 2>/dev/null || true; ip netns del $NS2 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add $NS
ip netns add $NS2
mkdir -p requests replies
rm -f requests/*.strace replies/*.strace
ip -V > requests/VERSION

# req NAME CMD...: capture what CMD sends (failure of CMD is fine: vlan/ipvlan are rejected by this kernel)
req() { local name=$1; shift; echo "== $name" >&2; ip netns exec $NS strace -f -o "requests/$name.strace" -e trace=sendmsg,sendto -e write=all -xx -s 65535 "$@" || true; }
# rep NAME CMD...: capture what the kernel answers to CMD
rep() { local name=$1; shift; ip netns exec $NS strace -f -o "replies/$name.strace" -e trace=recvmsg -e read=all -xx -s 65535 "$@" >/dev/null || true; }
run() { ip netns exec $NS "$@"; }

# --- links (index comments: what the fresh namespace hands out) ---
req link-add-bridge              ip link add br0 type bridge                                        # br0=2
req link-add-bridge-options      ip link add br1 mtu 1400 address 02:00:00:00:00:01 type bridge
req link-add-bridge-vlanfilter   ip link add br2 type bridge vlan_filtering 1   # this kernel: EOPNOTSUPP (no CONFIG_BRIDGE_VLAN_FILTERING), consumes an index anyway
req link-add-veth                ip link add veth0 type veth peer name veth1                          # veth1=4 veth0=5 (peer registered first)
req link-add-veth-options        ip link add veth2 mtu 1400 address 02:00:00:00:00:02 type veth peer name veth3 mtu 1400 address 02:00:00:00:00:03 netns $NS2
run ip link add vethm0 type veth peer name vethm1
req link-add-macvlan             ip link add link vethm0 name mv0 type macvlan mode bridge
req link-add-macvlan-options     ip link add link vethm0 name mv1 mtu 1400 address 02:00:00:00:00:04 netns $NS2 type macvlan mode private
req link-add-vlan                ip link add link vethm0 name vethm0.5 type vlan id 5
req link-add-ipvlan              ip link add link vethm0 name ipv0 type ipvlan mode l2
req link-set-up                  ip link set dev veth0 up
req link-set-down                ip link set dev veth0 down
req link-set-master              ip link set dev veth0 master br0
req link-set-nomaster            ip link set dev veth0 nomaster
req link-set-mtu                 ip link set dev veth0 mtu 1450
req link-set-address             ip link set dev veth0 address 02:00:00:00:00:05
req link-set-promisc-on          ip link set dev veth0 promisc on
req link-set-promisc-off         ip link set dev veth0 promisc off
req link-set-txqueuelen          ip link set dev veth0 txqueuelen 500
req link-set-allmulticast-on     ip link set dev veth0 allmulticast on
req link-set-allmulticast-off    ip link set dev veth0 allmulticast off
req link-set-name                ip link set dev veth0 name veth9
run ip link set dev veth9 name veth0
run ip link set dev veth0 master br1
req link-set-bridge-port         ip link set dev veth0 type bridge_slave hairpin on isolated on learning off
req bridge-vlan-add              bridge vlan add dev veth0 vid 10 pvid untagged
req bridge-vlan-add-tagged       bridge vlan add dev veth0 vid 20
req bridge-vlan-del              bridge vlan del dev veth0 vid 20
req bridge-vlan-dump             bridge vlan show
req link-get-by-name             ip link show dev veth0
req link-dump                    ip link show
req link-set-netns               ip link set dev veth1 netns $NS2 name eth0
req link-del                     ip link del dev mv0

# --- addresses ---
run ip link set dev veth0 up
req addr-add-v4                  ip addr add 10.1.2.3/24 dev veth0
req addr-add-v4-broadcast        ip addr add 10.1.3.3/24 broadcast 10.1.3.255 dev veth0
req addr-add-v6-nodad            ip -6 addr add fd00::1/64 dev veth0 nodad
req addr-del-v4                  ip addr del 10.1.3.3/24 dev veth0
req addr-del-v6                  ip -6 addr del fd00::1/64 dev veth0
req addr-dump                    ip addr show

# --- routes ---
run ip -6 addr add fd00::1/64 dev veth0 nodad
req route-add-v4-gw              ip route add 10.9.0.0/16 via 10.1.2.1 dev veth0
req route-add-v4-full            ip route add 10.8.0.0/16 via 10.1.2.1 dev veth0 src 10.1.2.3 metric 100 table 100 mtu 1400 advmss 1360
req route-add-v4-link            ip route add 10.7.0.0/16 dev veth0 scope link
req route-replace-v4             ip route replace 10.9.0.0/16 via 10.1.2.2 dev veth0
req route-add-v4-default         ip route add default via 10.1.2.1 dev veth0 metric 50
req route-add-v6-gw              ip -6 route add fd01::/64 via fd00::2 dev veth0 metric 1024
req route-add-v6-default         ip -6 route add default via fd00::2 dev veth0
req route-del-v4                 ip route del 10.9.0.0/16 via 10.1.2.2 dev veth0
req route-del-v6                 ip -6 route del fd01::/64 via fd00::2 dev veth0
req route-dump-v4                ip -4 route show table all
req route-dump-v6                ip -6 route show table all

# --- kernel replies ---
rep link-dump                    ip link show
rep addr-dump                    ip addr show
rep route-dump-v4                ip -4 route show table all
rep route-dump-v6                ip -6 route show table all
rep bridge-vlan-dump             bridge vlan show
rep error-exists                 ip link add br0 type bridge
rep error-vlan                   ip link add link vethm0 name vethm0.6 type vlan id 6

# --- more variants (after the replies above, so that those stay small) ---
req link-add-bridge-txqueuelen   ip link add br3 mtu 1400 address 02:00:00:00:00:06 txqueuelen 500 type bridge
req link-add-veth-netns          ip link add veth4 mtu 1400 netns $NS2 type veth peer name veth5
req link-add-ipvlan-l3-private   ip link add link vethm0 name ipv1 type ipvlan mode l3 private
req link-add-vlan-8021ad         ip link add link vethm0 name vethm0.7 mtu 1400 type vlan id 7 protocol 802.1ad
req link-add-macvlan-passthru    ip link add link vethm0 name mv2 type macvlan mode passthru
req link-add-macvlan-bcqueuelen  ip link add link vethm0 name mv3 type macvlan mode bridge bcqueuelen 1000
rep link-get-macvlan-bcqueuelen  ip -d link show dev mv3
req addr-add-v4-noprefixroute    ip addr add 10.1.4.3/24 dev veth0 noprefixroute
req addr-add-v4-scope-link       ip addr add 169.254.1.1/16 dev veth0 scope link
req addr-dump-v4                 ip -4 addr show
req addr-dump-v6                 ip -6 addr show
req route-add-v4-table-1000      ip route add 10.6.0.0/16 dev veth0 table 1000
req route-add-v6-full            ip -6 route add fd02::/64 via fd00::2 dev veth0 src fd00::1 metric 10 table 100 mtu 1400 advmss 1300
req route-del-v4-table-1000      ip route del 10.6.0.0/16 dev veth0 table 1000

# --- neighbours ---
req neigh-add-v4                 ip neigh add 10.1.2.9 lladdr 02:00:00:00:00:09 dev veth0 nud permanent
req neigh-replace-v4             ip neigh replace 10.1.2.9 lladdr 02:00:00:00:00:0a dev veth0 nud permanent
req neigh-add-v6                 ip -6 neigh add fd00::9 lladdr 02:00:00:00:00:0b dev veth0
req neigh-dump                   ip neigh show
rep neigh-dump                   ip neigh show
req neigh-del-v4                 ip neigh del 10.1.2.9 dev veth0

# --- added later (last, so that the interface indexes above stay as they were) ---
req link-add-veth-queues         ip link add veth6 mtu 1400 numtxqueues 1 numrxqueues 1 type veth peer name veth7 mtu 1400 address 02:00:00:00:00:07 netns $NS2 numtxqueues 1 numrxqueues 1

run ip -d link show > requests/INDEXES
run ip addr show >> requests/INDEXES
run ip route show table all >> requests/INDEXES
echo "captured into $(pwd)/requests and $(pwd)/replies"
