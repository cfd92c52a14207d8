#!/usr/bin/env bash
# podman's default chain through libcni (cnirun): bridge + portmap + firewall + tuning, ours against the Go reference
# plugins (/usr/lib/cni), interleaved in one run so both see the same machine state. Every pod publishes one port
# (CAP_ARGS portMappings). Everything runs inside a private "host" network namespace, so no rule, bridge or sysctl of
# this machine's own namespace is touched. The reference portmap (1.1.1) fails every CHECK on an IPv4-only network
# (it looks for the IPv4 rules in ip6tables): its failing CHECKs are counted, not timed, and that row has no ratio.
# Prints per-operation medians (ms, cnirun process included: same cost on both sides; bash's EPOCHREALTIME around
# each cnirun, not a date process, whose own start-up (~1.3 ms) would land inside every interval) and the ratio ours/reference.
#   usage: sudo benchmarks/chain/bench.sh [N] [CHAIN]
#          N: pods (default 20); CHAIN: comma-separated types after bridge (default portmap,firewall,tuning)
#   needs: root, cnirun (bash ../shared/tools/cnirun/build.sh), our plugins in artifacts/cni/bin (./build.sh),
#          the reference in /usr/lib/cni (apt-get install containernetworking-plugins), iptables
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-20}
CHAIN=${2:-portmap,firewall,tuning}
OURS_BIN=${OURS_BIN:-$PWD/artifacts/cni/bin}
REF_BIN=${REF_BIN:-/usr/lib/cni}
IFS=, read -r -a after <<< "$CHAIN"
[ "$(id -u)" = 0 ] || { echo "needs root (creates namespaces and bridges)" >&2; exit 1; }
command -v cnirun >/dev/null || { echo "cnirun missing: bash ../shared/tools/cnirun/build.sh" >&2; exit 1; }
for p in bridge host-local "${after[@]}"; do
  [ -x "$OURS_BIN/$p" ] || { echo "$OURS_BIN/$p missing: run ./build.sh" >&2; exit 1; }
  [ -x "$REF_BIN/$p" ] || { echo "$REF_BIN/$p missing: apt-get install containernetworking-plugins" >&2; exit 1; }
done

work=$(mktemp -d /tmp/cni-chain-bench.XXXXXX)
tag=$$
hostns="cnichain-host-$tag"
declare -A IF=([ours]="eth0" [ref]="eth1") BR=([ours]="cbo$tag" [ref]="cbr$tag") SUBNET=([ours]="10.203.0.0/16" [ref]="10.204.0.0/16") BIN=([ours]="$OURS_BIN" [ref]="$REF_BIN") PORT=([ours]=20000 [ref]=30000)
for impl in ours ref; do
  mkdir -p "$work/conf-$impl" "$work/cache-$impl"
  {
    printf '{"cniVersion": "1.0.0", "name": "chain-%s", "plugins": [\n' "$impl"
    printf '  {"type": "bridge", "bridge": "%s", "isGateway": true, "ipMasq": true, "hairpinMode": true,\n' "${BR[$impl]}"
    printf '   "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "%s"}}' "${SUBNET[$impl]}" "$work/ipam-$impl"
    for t in "${after[@]}"; do
      case $t in
        portmap) printf ',\n  {"type": "portmap", "capabilities": {"portMappings": true}}' ;;
        tuning) printf ',\n  {"type": "tuning", "sysctl": {"net.ipv4.conf.%s.rp_filter": "2"}}' "${IF[$impl]}" ;;
        bandwidth) printf ',\n  {"type": "bandwidth", "capabilities": {"bandwidth": true}}' ;;
        *) printf ',\n  {"type": "%s"}' "$t" ;;
      esac
    done
    printf '\n]}\n'
  } > "$work/conf-$impl/chain-$impl.conflist"
done

namespaces=()
cleanup() {
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  ip netns del "$hostns" 2>/dev/null || true   # takes its bridges, rules and sysctls with it
  rm -f "/run/cni/bridge/${BR[ours]}.lock"
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$hostns"
ip -n "$hostns" link set lo up

# run IMPL VERB NS ID N -> prints elapsed µs; fails loudly on error
run() {
  local impl=$1 verb=$2 ns=$3 id=$4 i=$5 t0 t1
  t0=${EPOCHREALTIME/./}
  if ! ip netns exec "$hostns" env NETCONFPATH="$work/conf-$impl" CNI_PATH="${BIN[$impl]}" CNI_CACHE_DIR="$work/cache-$impl" \
       CAP_ARGS="{\"portMappings\":[{\"hostPort\":$((PORT[$impl] + i)),\"containerPort\":80,\"protocol\":\"tcp\"}],\"bandwidth\":{\"ingressRate\":100000000,\"ingressBurst\":1000000,\"egressRate\":100000000,\"egressBurst\":1000000}}" \
       cnirun "$verb" "chain-$impl" "/var/run/netns/$ns" "$id" "${IF[$impl]}" >"$work/out" 2>&1; then
    if [ "$impl" = ref ] && [ "$verb" = check ]; then echo "$(head -c 200 "$work/out")" > "$work/refcheck"; echo fail; return; fi
    echo "$impl $verb $id failed:" >&2; cat "$work/out" >&2; touch "$work/failed"; exit 1
  fi
  t1=${EPOCHREALTIME/./}
  echo $(( t1 - t0 ))
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) m=a[(NR+1)/2]; else m=(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1000}'; }
order() { if (( $1 % 2 )); then echo ours ref; else echo ref ours; fi; }

for i in $(seq 1 "$N"); do ns="cnichain-$tag-$i"; ip netns add "$ns"; namespaces+=("$ns"); done
for impl in ours ref; do run "$impl" add "${namespaces[0]}" warm 0 >/dev/null; run "$impl" del "${namespaces[0]}" warm 0 >/dev/null; done

: > "$work/t"
for i in $(seq 1 "$N"); do
  ns=${namespaces[$((i-1))]}
  for op in add check del; do
    for impl in $(order "$i"); do echo "$impl $op $(run "$impl" "$op" "$ns" "pod$i" "$i")" >> "$work/t"; done
  done
done

[ ! -e "$work/failed" ] || { echo "some operations failed (see above)" >&2; exit 1; }
# Nothing may be left: no veth on the bridges, no CNI rule mentioning a pod, no reservation.
left=$(ip -n "$hostns" -o link show type veth | wc -l)
rules=$(ip netns exec "$hostns" iptables-save 2>/dev/null | grep -c -e 'pod[0-9]' || true)
[ "$left" = 0 ] || echo "warning: $left veth left in the host namespace" >&2
[ "$rules" = 0 ] || echo "warning: $rules iptables rules naming a pod left" >&2

echo "chain through libcni: bridge + ${after[*]}, N=$N, cniVersion 1.0.0, one published port per pod"
echo "ours: $OURS_BIN   reference: $REF_BIN ($(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null || echo ?))"
printf '%-10s %10s %10s %8s\n' operation "ours ms" "ref ms" "ours/ref"
for op in add check del; do
  o=$(awk -v op=$op '$1=="ours" && $2==op {print $3}' "$work/t" | median)
  r=$(awk -v op=$op '$1=="ref" && $2==op {print $3}' "$work/t" | median)
  if [ "$op" = check ] && grep -q 'ref check fail' "$work/t"; then
    printf '%-10s %10s %10s %8s   (reference CHECK failed %d of %d: %s)\n' CHECK "$o" fails - "$(grep -c 'ref check fail' "$work/t")" "$N" "$(tr -d '\n' < "$work/refcheck" | cut -c1-80)"
    continue
  fi
  printf '%-10s %10s %10s %8s\n' "${op^^}" "$o" "$r" "$(awk -v a="$o" -v b="$r" 'BEGIN {printf "%.2f", a/b}')"
done
