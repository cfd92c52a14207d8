#!/usr/bin/env bash
# Pod churn through libcni (cnirun) against our bridge + host-local and the Go reference ones (/usr/lib/cni),
# interleaved in one run so both see the same machine state:
#   N pods: ADD, CHECK, DEL one after another (ours and reference alternating), then ADD with 8 at once (and DEL).
# Prints per-operation medians (ms, cnirun process included: same cost on both sides; bash's EPOCHREALTIME around
# each cnirun, not a date process, whose own start-up (~1.3 ms) would land inside every interval), the ratio ours/reference,
# peak memory of one plugin ADD (/usr/bin/time -v) and binary sizes.
#   usage: sudo benchmarks/bridge/bench.sh [N] [masq|plain] [ours|ref]   (defaults: N=20, masq, ours)
#   the third argument picks the host-local our bridge delegates to (ref: isolate the bridge plugin itself)
#   needs: root, cnirun (bash ../shared/tools/cnirun/build.sh), our plugins in artifacts/cni/bin (./build.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-20}
SCENARIO=${2:-masq}
OURS_IPAM=${3:-ours}
OURS_BIN=$PWD/artifacts/cni/bin
REF_BIN=/usr/lib/cni
[ "$(id -u)" = 0 ] || { echo "needs root (creates namespaces and bridges)" >&2; exit 1; }
command -v cnirun >/dev/null || { echo "cnirun missing: bash ../shared/tools/cnirun/build.sh" >&2; exit 1; }
for p in bridge host-local; do
  [ -x "$OURS_BIN/$p" ] || { echo "$OURS_BIN/$p missing: run ./build.sh" >&2; exit 1; }
  [ -x "$REF_BIN/$p" ] || { echo "$REF_BIN/$p missing: apt-get install containernetworking-plugins" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }

work=$(mktemp -d /tmp/cni-bench.XXXXXX)
tag=$$
declare -A IF=([ours]="eth0" [ref]="eth1") BR=([ours]="bbo$tag" [ref]="bbr$tag") SUBNET=([ours]="10.201.0.0/16" [ref]="10.202.0.0/16") BIN=([ours]="$work/bin-ours" [ref]="$work/bin-ref")
masq=false; [ "$SCENARIO" = masq ] && masq=true
mkdir -p "$work/bin-ours" "$work/bin-ref"
ln -s "$OURS_BIN/bridge" "$work/bin-ours/bridge"; if [ "$OURS_IPAM" = ref ]; then ln -s "$REF_BIN/host-local" "$work/bin-ours/host-local"; else ln -s "$OURS_BIN/host-local" "$work/bin-ours/host-local"; fi
ln -s "$REF_BIN/bridge" "$work/bin-ref/bridge"; ln -s "$REF_BIN/host-local" "$work/bin-ref/host-local"
for impl in ours ref; do
  mkdir -p "$work/conf-$impl" "$work/cache-$impl"
  cat > "$work/conf-$impl/bench-$impl.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "bench-$impl", "plugins": [
  {"type": "bridge", "bridge": "${BR[$impl]}", "isGateway": true, "ipMasq": $masq,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "${SUBNET[$impl]}"}]], "dataDir": "$work/ipam-$impl"}}]}
JSON
done

namespaces=()
cleanup() {
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  ip link del "${BR[ours]}" 2>/dev/null || true; ip link del "${BR[ref]}" 2>/dev/null || true
  rm -f "/run/cni/bridge/${BR[ours]}.lock"
  [ -n "${KEEP_T:-}" ] && cp "$work/t" "$KEEP_T"; rm -rf "$work"
}
trap cleanup EXIT

# run IMPL VERB NS ID -> prints elapsed ms; fails loudly on error
run() {
  local impl=$1 verb=$2 ns=$3 id=$4 t0 t1
  t0=${EPOCHREALTIME/./}
  if ! NETCONFPATH="$work/conf-$impl" CNI_PATH="${BIN[$impl]}" CNI_CACHE_DIR="$work/cache-$impl" \
       cnirun "$verb" "bench-$impl" "/var/run/netns/$ns" "$id" "${IF[$impl]}" >"$work/out" 2>&1; then
    echo "$impl $verb $id failed:" >&2; cat "$work/out" >&2; touch "$work/failed"; exit 1
  fi
  t1=${EPOCHREALTIME/./}
  echo $(( t1 - t0 ))
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) m=a[(NR+1)/2]; else m=(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1000}'; }

# Which side goes first alternates per iteration: the second one absorbs kernel work the first leaves behind.
order() { if (( $1 % 2 )); then echo ours ref; else echo ref ours; fi; }
for i in $(seq 1 "$N"); do ns="cnibench-$tag-$i"; ip netns add "$ns"; namespaces+=("$ns"); done
# warm-up (page cache, bridge creation) outside the measurements
for impl in ours ref; do run "$impl" add "${namespaces[0]}" warm >/dev/null; run "$impl" del "${namespaces[0]}" warm >/dev/null; done

: > "$work/t"
for i in $(seq 1 "$N"); do
  ns=${namespaces[$((i-1))]}
  for op in add check del; do
    for impl in $(order "$i"); do echo "$impl $op $(run "$impl" "$op" "$ns" "pod$i")" >> "$work/t"; done
  done
done

# ADD with 8 at once (batches of 8 pods), then DEL them: wall time per batch
batch() {
  local impl=$1 verb=$2 start=$3 t0 t1 pids=()
  t0=${EPOCHREALTIME/./}
  for j in $(seq "$start" $((start + 7))); do
    ( NETCONFPATH="$work/conf-$impl" CNI_PATH="${BIN[$impl]}" CNI_CACHE_DIR="$work/cache-$impl" \
        cnirun "$verb" "bench-$impl" "/var/run/netns/${namespaces[$((j-1))]}" "par$j" "${IF[$impl]}" >"$work/par-$impl-$j" 2>&1 \
        || { echo "$impl parallel $verb par$j failed:" >&2; cat "$work/par-$impl-$j" >&2; touch "$work/failed"; exit 1; } ) & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || exit 1; done
  t1=${EPOCHREALTIME/./}
  echo $(( t1 - t0 ))
}
# Batch k alternates who goes first (k, not the first pod's number: that is always odd). Each batch starts on a
# settled machine: the kernel finishes freeing deleted links after a DEL returns (ours hands that wait to a helper
# process, the reference waits for it), and a batch started at once would pay for the one before it.
k=0
for start in $(seq 1 8 $((N - 7))); do
  k=$((k + 1))
  for impl in $(order "$k"); do sleep 0.2; echo "$impl add8 $(batch "$impl" add "$start")" >> "$work/t"; done
  for impl in $(order "$k"); do sleep 0.2; echo "$impl del8 $(batch "$impl" del "$start")" >> "$work/t"; done
done

# The floor both columns share: cnirun (libcni) running a plugin that only reads stdin and prints an empty result
# (a static C program, when a C compiler is there), N times.
floor() {
  command -v cc >/dev/null || { echo "n/a (no cc)"; return; }
  mkdir -p "$work/noop-bin" "$work/noop-conf" "$work/noop-cache"
  printf '#include <unistd.h>\n#include <string.h>\nint main(void){char b[65536];while(read(0,b,sizeof b)>0);const char*r="{\\"cniVersion\\":\\"1.0.0\\"}";return write(1,r,strlen(r))<0;}\n' > "$work/noop.c"
  cc -O2 -static -o "$work/noop-bin/noop" "$work/noop.c" 2>/dev/null || cc -O2 -o "$work/noop-bin/noop" "$work/noop.c" || { echo "n/a (cc failed)"; return; }
  echo '{"cniVersion":"1.0.0","name":"noop","plugins":[{"type":"noop"}]}' > "$work/noop-conf/noop.conflist"
  for i in $(seq 1 "$N"); do
    t0=${EPOCHREALTIME/./}
    NETCONFPATH="$work/noop-conf" CNI_PATH="$work/noop-bin" CNI_CACHE_DIR="$work/noop-cache" cnirun add noop "/var/run/netns/${namespaces[0]}" "noop$i" eth9 >/dev/null
    t1=${EPOCHREALTIME/./}
    echo $(( t1 - t0 ))
  done | median
}

# Peak memory of one plugin ADD/DEL, run directly
peak() {
  local impl=$1 verb=$2 ns=${namespaces[0]}
  python3 -c "import json,sys; l=json.load(open(sys.argv[1])); p=l['plugins'][0]; p['cniVersion']=l['cniVersion']; p['name']=l['name']; print(json.dumps(p))" \
    "$work/conf-$impl/bench-$impl.conflist" > "$work/single-$impl.json"
  CNI_COMMAND=$verb CNI_CONTAINERID=mem CNI_NETNS=/var/run/netns/$ns CNI_IFNAME=${IF[$impl]} CNI_PATH="${BIN[$impl]}" \
    /usr/bin/time -v "${BIN[$impl]}/bridge" < "$work/single-$impl.json" 2>"$work/time-$impl" >/dev/null
  awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time-$impl"
}

[ ! -e "$work/failed" ] || { echo "some operations failed (see above)" >&2; exit 1; }
echo "bridge pod churn: N=$N scenario=$SCENARIO (isGateway, ipMasq=$masq), cniVersion 1.0.0 via libcni $(dpkg-query -W -f='${Version}' golang-github-appc-cni-dev 2>/dev/null || echo ?)"
echo "ours: $OURS_BIN (bridge + $OURS_IPAM host-local)   reference: $REF_BIN ($(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null || echo ?))"
printf '%-28s %10s %10s %8s\n' operation "ours ms" "ref ms" "ours/ref"
for op in add check del add8 del8; do
  o=$(awk -v op=$op '$1=="ours" && $2==op {print $3}' "$work/t" | median)
  r=$(awk -v op=$op '$1=="ref" && $2==op {print $3}' "$work/t" | median)
  label=$op; [ $op = add8 ] && label="ADD x8 parallel (batch)"; [ $op = del8 ] && label="DEL x8 parallel (batch)"
  printf '%-28s %10s %10s %8s\n' "${label^^}" "$o" "$r" "$(awk -v a="$o" -v b="$r" 'BEGIN {printf "%.2f", a/b}')"
done
printf '%-28s %10s   (cnirun + a no-op C plugin: the part of every row above that is not the plugins)\n' "cnirun floor (ms)" "$(floor)"
printf '%-28s %10s %10s\n' "peak RSS ADD (KiB)" "$(peak ours ADD)" "$(peak ref ADD)"
printf '%-28s %10s %10s\n' "peak RSS DEL (KiB)" "$(peak ours DEL)" "$(peak ref DEL)"
# Ours is one executable that every type links to; the reference ships one per type.
dirsize() { find -L "$1" -maxdepth 1 -type f -printf '%D:%i %s\n' | sort -u | awk '{s += $2} END {print s}'; }
printf '%-28s %10s %10s\n' "bridge binary (bytes)" "$(stat -L -c %s "$OURS_BIN/bridge")" "$(stat -L -c %s "$REF_BIN/bridge")"
printf '%-28s %10s %10s\n' "plugin directory (bytes)" "$(dirsize "$OURS_BIN")" "$(dirsize "$REF_BIN")"
