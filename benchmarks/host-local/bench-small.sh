#!/usr/bin/env bash
# Compares our host-local (NativeAOT) with the Go reference on a small, mostly empty /24: the common case of a
# bridge network's pod churn.
#
# For each fill level (reservations already present, written in the reference's format), each plugin gets its own
# copy of the data directory and runs N ADD+DEL pairs, the two plugins interleaved pair by pair so that both see the
# same machine state (other work on the machine hits both alike). Prints per-fill medians of one ADD and one DEL
# and the ratio. Times are bash's EPOCHREALTIME around each process (fork, exec and start-up included).
#
#   usage: benchmarks/host-local/bench-small.sh [N] [OUR_BINARY] [REFERENCE_BINARY]
#   defaults: N=40, artifacts/cni/bin/host-local, /usr/lib/cni/host-local; FILLS="0 5 20" picks the fill levels,
#   PREFIX=24 the size of 10.30.0.0/PREFIX (e.g. PREFIX=22 FILLS="300 600" to look at the index threshold)
#
# On a busy machine (builds running on the same cores) the spread of a 3 ms process swamps the difference:
# run it as `chrt -f 50 benchmarks/host-local/bench-small.sh 100` (root) so both plugins run ahead of the noise.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-40}
ours=${2:-artifacts/cni/bin/host-local}
ref=${3:-/usr/lib/cni/host-local}
fills=${FILLS:-0 5 20}
prefix=${PREFIX:-24}
for b in "$ours" "$ref"; do
  [ -x "$b" ] || { echo "missing binary: $b" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hl-small.XXXXXX")
trap 'rm -rf "$work"' EXIT

config() { # $1 = data dir
  printf '{"cniVersion":"1.0.0","name":"small","type":"bridge","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.30.0.0/%s"}]]}}' "$1" "$prefix"
}

# Runs one command ($1 ADD|DEL) of binary $2 on data dir $3 for container $4; prints elapsed microseconds.
run() {
  local conf=$5 t0 t1
  t0=${EPOCHREALTIME/./}
  CNI_COMMAND=$1 CNI_CONTAINERID=$4 CNI_NETNS=/var/run/netns/x CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin "$2" <<<"$conf" >"$work/out" \
    || { echo "$1 failed ($2): $(cat "$work/out")" >&2; exit 1; }
  t1=${EPOCHREALTIME/./}
  echo $(( t1 - t0 ))
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

printf '%-5s %-6s %12s %12s %8s\n' fill op reference ours ratio
for fill in $fills; do
  for who in ours ref; do
    d="$work/$fill-$who/small"
    mkdir -p "$d"
    for ((i = 0; i < fill; i++)); do
      v=$((i + 2))
      printf '%064x\r\neth0' "$i" >"$d/10.30.$((v >> 8)).$((v & 255))"
    done
    if ((fill > 0)); then v=$((fill + 1)); printf '10.30.%d.%d' $((v >> 8)) $((v & 255)) >"$d/last_reserved_ip.0"; fi
  done
  conf_ours=$(config "$work/$fill-ours"); conf_ref=$(config "$work/$fill-ref")
  # one warm-up pair each (page cache, first directory creation)
  run ADD "$ref" "$work/$fill-ref" warm "$conf_ref" >/dev/null; run DEL "$ref" "$work/$fill-ref" warm "$conf_ref" >/dev/null
  run ADD "$ours" "$work/$fill-ours" warm "$conf_ours" >/dev/null; run DEL "$ours" "$work/$fill-ours" warm "$conf_ours" >/dev/null
  : >"$work/ra"; : >"$work/rd"; : >"$work/oa"; : >"$work/od"
  for ((i = 1; i <= n; i++)); do
    run ADD "$ref" "$work/$fill-ref" "c$i" "$conf_ref" >>"$work/ra"
    run DEL "$ref" "$work/$fill-ref" "c$i" "$conf_ref" >>"$work/rd"
    run ADD "$ours" "$work/$fill-ours" "c$i" "$conf_ours" >>"$work/oa"
    run DEL "$ours" "$work/$fill-ours" "c$i" "$conf_ours" >>"$work/od"
  done
  for op in ADD DEL; do
    if [ $op = ADD ]; then r=$(median <"$work/ra"); o=$(median <"$work/oa"); else r=$(median <"$work/rd"); o=$(median <"$work/od"); fi
    awk -v f="$fill" -v op="$op" -v r="$r" -v o="$o" 'BEGIN { printf "%-5s %-6s %9.2f ms %9.2f ms %7.2fx\n", f, op, r/1000, o/1000, r/o }'
  done
  # both must agree on what they handed out
  if ! diff <(cd "$work/$fill-ref/small" && ls) <(cd "$work/$fill-ours/small" && ls) >/dev/null \
     || ! cmp -s "$work/$fill-ref/small/last_reserved_ip.0" "$work/$fill-ours/small/last_reserved_ip.0"; then
    echo "WARNING: the two directories differ after fill $fill" >&2; exit 1
  fi
done
echo "(ratio > 1: ours is faster; medians of $n interleaved runs; times include process start-up)"
