#!/usr/bin/env bash
# Compares our host-local (NativeAOT) with the Go reference on a nearly full /16.
#
# A data directory is filled with reservation files written directly in the reference's format
# (<ip> holding "<64 hex container id>\r\neth0", last_reserved_ip.0, lock), leaving a few hundred addresses
# free. Each plugin then works on its own copy. The reference keeps no state besides the files, so each of its
# ADDs costs the same; ours keeps an index of the files (.host-local-cache) and is measured in three states:
#
#   warm          the index is current (the previous run on the directory was ours)
#   cold, stale   the reference ran an ADD+DEL on the directory just before (new files, new directory times)
#   cold, missing the index was deleted just before (first run on a big network, index lost)
#
# Every round runs the reference's ADD and ours in each state, interleaved so that all see the same machine
# state; every ADD is followed by the DEL of the same container (timed too, shown for information). The
# reference's copy replays the same history (its extra ADD+DEL stands in for the one it ran on our directory),
# so both directories must end with the same files. Prints medians and the ratios ours / reference.
#
#   usage: benchmarks/host-local/bench.sh [N] [OUR_BINARY] [REFERENCE_BINARY]
#   defaults: N=11, artifacts/cni/bin/host-local (./build.sh publishes it), /usr/lib/cni/host-local
#   FILL=65000 sets the number of reservations.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-11}
ours=${2:-artifacts/cni/bin/host-local}
ref=${3:-/usr/lib/cni/host-local}
fill=${FILL:-65000}
for b in "$ours" "$ref"; do
  [ -x "$b" ] || { echo "missing binary: $b (ours: ./build.sh; reference: apt-get install containernetworking-plugins)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "python3 is needed to write $fill files quickly" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hl-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "==> writing $fill reservations into 10.20.0.0/16 ($work/base)"
python3 - "$work/base/bench" "$fill" <<'PY'
import os, sys
d, fill = sys.argv[1], int(sys.argv[2])
os.makedirs(d, 0o755)
n = 0
last = None
for value in range(2, 65535):          # 10.20.0.2 .. 10.20.255.254 (.0.1 is the gateway)
    if n == fill:
        break
    ip = f"10.20.{value >> 8}.{value & 255}"
    with open(os.path.join(d, ip), "w", newline="") as f:
        f.write(f"{n:064x}\r\neth0")
    n += 1
    last = ip
with open(os.path.join(d, "last_reserved_ip.0"), "w") as f:
    f.write(last)
os.close(os.open(os.path.join(d, "lock"), os.O_CREAT | os.O_RDONLY, 0o750))
print(f"    {n} files, last_reserved_ip.0 = {last}")
PY

config() { # $1 = data dir
  printf '{"cniVersion":"1.0.0","name":"bench","type":"bridge","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.20.0.0/16"}]]}}' "$1"
}

# Runs one command ($1 ADD|DEL) of binary $2 on data dir $3 for container $4; prints elapsed microseconds
# (process start-up included).
run() {
  local conf t0 t1
  conf=$(config "$3")
  t0=${EPOCHREALTIME/./}
  CNI_COMMAND=$1 CNI_CONTAINERID=$4 CNI_NETNS=/var/run/netns/bench CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin "$2" <<<"$conf" >"$work/out" \
    || { echo "$1 failed ($2): $(cat "$work/out")" >&2; exit 1; }
  t1=${EPOCHREALTIME/./}
  echo $(( t1 - t0 ))
}

# ADD then DEL of container $3 with binary $1 on data dir $2; appends the times to $work/$4.add and $work/$4.del
# (no name: not recorded).
pair() {
  local a d
  a=$(run ADD "$1" "$2" "$3")
  d=$(run DEL "$1" "$2" "$3")
  if [ -n "${4:-}" ]; then echo "$a" >>"$work/$4.add"; echo "$d" >>"$work/$4.del"; fi
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

cp -a "$work/base" "$work/ours"
cp -a "$work/base" "$work/ref"
sync

# One warm-up pair each (page cache; ours builds its index).
pair "$ref" "$work/ref" warmup
pair "$ours" "$work/ours" warmup
rm -f "$work"/*.add "$work"/*.del

echo "==> $n rounds: reference ADD+DEL; ours cold (stale), warm, cold (missing)"
for i in $(seq 1 "$n"); do
  # the reference's copy gets the same four pairs (the first stands in for the one it runs on ours)
  pair "$ref" "$work/ref" "go$i"
  pair "$ref" "$work/ref" "stale$i" ref
  pair "$ref" "$work/ref" "warm$i" ref
  pair "$ref" "$work/ref" "missing$i" ref

  pair "$ref" "$work/ours" "go$i"                       # the reference writes: our index is now stale
  pair "$ours" "$work/ours" "stale$i" stale
  pair "$ours" "$work/ours" "warm$i" warm
  rm -rf "$work/ours/.host-local-cache"                 # the index is gone
  pair "$ours" "$work/ours" "missing$i" missing
done

ms() { awk -v u="$1" 'BEGIN { printf "%8.1f ms", u / 1000 }'; }
echo
echo "median times on a nearly full /16 ($fill reservations; $n rounds, $((3 * n)) reference runs):"
printf '  %-26s %11s %11s %11s\n' "" ADD DEL "ADD ratio"
r_add=$(median <"$work/ref.add"); r_del=$(median <"$work/ref.del")
printf '  %-26s %11s %11s\n' "reference" "$(ms "$r_add")" "$(ms "$r_del")"
for state in warm stale missing; do
  case $state in
    warm) label="ours, warm" ;;
    stale) label="ours, cold (after the ref.)" ;;
    missing) label="ours, cold (no index)" ;;
  esac
  o_add=$(median <"$work/$state.add"); o_del=$(median <"$work/$state.del")
  printf '  %-26s %11s %11s %10sx\n' "$label" "$(ms "$o_add")" "$(ms "$o_del")" "$(awk -v r="$r_add" -v o="$o_add" 'BEGIN { printf "%.3f", o / r }')"
done
echo "  (ratio = ours / reference: 0.1 means ours takes a tenth of the reference's time. The DEL after a cold"
echo "   ADD finds the index the ADD left, but after the reference wrote, that index holds owners the ADD did not"
echo "   check, so that DEL checks every file's ctime: it pays what the ADD skipped)"

# Both must have handed out the same addresses: compare the resulting directories (the index aside).
if diff <(cd "$work/ref/bench" && ls) <(cd "$work/ours/bench" && ls) >/dev/null \
   && cmp -s "$work/ref/bench/last_reserved_ip.0" "$work/ours/bench/last_reserved_ip.0"; then
  echo "  same files and same last_reserved_ip.0 ($(cat "$work/ours/bench/last_reserved_ip.0")) in both directories"
else
  echo "  WARNING: the two directories differ" >&2
  exit 1
fi
