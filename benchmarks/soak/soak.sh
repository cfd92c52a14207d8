#!/usr/bin/env bash
# Soak: PODS pods ADD then DEL through libcni (cnirun), PARALLEL at once, and a share of the ADDs killed with SIGKILL
# midway (runtime and plugin together, as a node losing its runtime would) and then DELeted as a runtime does after
# a failed ADD. At the end it counts what was left behind; every count must be 0:
#   links (veths in the host namespace, interfaces on the bridge), gateway addresses beyond the one expected,
#   masquerade rules (nft and iptables), host-local reservations, libcni cache entries, plugin processes (and the file
#   descriptors they hold), zombies.
# Everything happens inside a private "host" network namespace: this machine's own namespace is never touched.
#   usage: sudo benchmarks/soak/soak.sh [PODS] [PARALLEL] [KILL_PERCENT] [PLUGIN_DIR]
#          defaults: 1000 8 10 artifacts/cni/bin (pass /usr/lib/cni to soak the Go reference the same way)
#   needs: root, cnirun (bash ../shared/tools/cnirun/build.sh), our plugins in artifacts/cni/bin (./build.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
PODS=${1:-1000}
PARALLEL=${2:-8}
KILL=${3:-10}
BIN=${4:-$PWD/artifacts/cni/bin}
[ "$(id -u)" = 0 ] || { echo "needs root (creates namespaces and bridges)" >&2; exit 1; }
command -v cnirun >/dev/null || { echo "cnirun missing: bash ../shared/tools/cnirun/build.sh" >&2; exit 1; }
for p in bridge host-local; do [ -x "$BIN/$p" ] || { echo "$BIN/$p missing: run ./build.sh" >&2; exit 1; }; done

tag=$$
work=$(mktemp -d /tmp/cni-soak.XXXXXX)
hostns="cnisoak-host-$tag"
bridge="soak$tag"; bridge=${bridge:0:15}
mkdir -p "$work/conf" "$work/cache"
cat > "$work/conf/soak.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "soak$tag", "plugins": [
  {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.205.0.0/16"}]], "dataDir": "$work/ipam"}}]}
JSON
cleanup() {
  for ns in $(ip netns list | awk '{print $1}' | grep -e "^cnisoak-$tag-" -e "^$hostns\$" || true); do ip netns del "$ns" 2>/dev/null || true; done
  rm -f "/run/cni/bridge/$bridge.lock"
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$hostns"
ip -n "$hostns" link set lo up

# cnirun inside the host namespace. `setsid` (not a process-group leader here, as jobs of a script are not) calls
# setsid() and execs cnirun in place: cnirun leads a session and process group of its own, which its plugins join.
cni_cmd() { # VERB NS ID
  echo ip netns exec "$hostns" env NETCONFPATH="$work/conf" CNI_PATH="$BIN" CNI_CACHE_DIR="$work/cache" \
    setsid cnirun "$1" "soak$tag" "/var/run/netns/$2" "$3" eth0
}

pod() { # I: one pod's life
  local i=$1 ns="cnisoak-$tag-$1" id="soak-$1" pid pgid
  ip netns add "$ns"
  if (( RANDOM % 100 < KILL )); then
    $(cni_cmd add "$ns" "$id") >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$(( RANDOM % 40 + 1 ))"
    # Kill cnirun and its plugins together: the process group cnirun leads. Only when it really leads its own group
    # (its pgid is its pid): never signal a group this script did not make.
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)
    if [ -n "$pgid" ] && [ "$pgid" = "$pid" ]; then kill -KILL -- "-$pid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
    echo killed >> "$work/killed"
  else
    if ! $(cni_cmd add "$ns" "$id") > "$work/out-$i" 2>&1; then echo "ADD $id failed: $(cat "$work/out-$i")" >> "$work/errors"; fi
  fi
  if ! $(cni_cmd del "$ns" "$id") > "$work/out-$i" 2>&1; then echo "DEL $id failed: $(cat "$work/out-$i")" >> "$work/errors"; fi
  rm -f "$work/out-$i"
  ip netns del "$ns"
}

start=$(date +%s)
running=0
for i in $(seq 1 "$PODS"); do
  pod "$i" &
  running=$((running + 1))
  if (( running >= PARALLEL )); then wait -n || true; running=$((running - 1)); fi
done
wait || true
elapsed=$(( $(date +%s) - start ))
sleep 1 # let deferred link deletions (our DEL helper) finish

count() { printf '%-44s %s\n' "$1" "$2"; [ "$2" = 0 ] || leaks=$((leaks + 1)); }
leaks=0
echo "soak: $PODS pods, $PARALLEL at once, ~$KILL% of ADDs killed midway ($(wc -l < "$work/killed" 2>/dev/null || echo 0) killed), $elapsed s, plugins $BIN"
if [ -s "$work/errors" ]; then echo "errors ($(wc -l < "$work/errors")), first 5:"; head -5 "$work/errors" | cut -c1-300; fi
count "veths left in the host namespace" "$(ip -n "$hostns" -o link show type veth | wc -l)"
count "interfaces left on the bridge" "$(ip -n "$hostns" -o link show master "$bridge" 2>/dev/null | wc -l)"
count "bridge addresses beyond the gateway" "$(( $(ip -n "$hostns" -o -4 addr show dev "$bridge" 2>/dev/null | wc -l) > 1 ? $(ip -n "$hostns" -o -4 addr show dev "$bridge" | wc -l) - 1 : 0 ))"
count "nft rules naming a pod or the network" "$(ip netns exec "$hostns" nft list ruleset 2>/dev/null | grep -c -e 'soak-' -e "10\.205\." || true)"
count "iptables rules naming a pod or the network" "$(ip netns exec "$hostns" iptables-save 2>/dev/null | grep -c -e 'soak-' -e "10\.205\." || true)"
count "host-local reservations" "$(ls "$work/ipam/soak$tag" 2>/dev/null | grep -c '^10\.' || true)"
count "libcni cache entries" "$(find "$work/cache" -type f 2>/dev/null | wc -l)"
procs=$(pgrep -f -- "$BIN/" || true)
count "plugin processes still running" "$(printf '%s' "$procs" | grep -c . || true)"
fds=0; for p in $procs; do fds=$((fds + $(ls "/proc/$p/fd" 2>/dev/null | wc -l))); done
count "file descriptors held by them" "$fds"
# Zombies of the plugins (or of cnirun, our DEL helper included: "exe", started through /proc/self/exe): nobody reaps them when the runtime (or PID 1 of a
# container without init) does not reap foreign children.
zombies() { ps -eo stat=,comm= | awk '$1 ~ /^Z/ && $2 ~ /^(cni-plugins|bridge|host-local|cnirun|setsid|exe)$/' | wc -l; }
for _ in 1 2 3 4 5 6 7 8 9 10; do [ "$(zombies)" = 0 ] && break; sleep 0.5; done # an init may reap on a timer
count "zombie plugin or runtime processes" "$(zombies)"
[ ! -s "$work/errors" ] || leaks=$((leaks + 1))
if [ "$leaks" = 0 ]; then echo "soak passed: nothing left behind"; else echo "soak FAILED: $leaks kinds of leftovers or errors"; exit 1; fi
