#!/usr/bin/env bash
# Compares our host-local (NativeAOT) with the Go reference on a nearly full /16.
#
# A data directory is filled with reservation files written directly in the reference's format
# (<ip> holding "<64 hex container id>\r\neth0", last_reserved_ip.0, lock), leaving a few hundred addresses
# free. Each plugin then works on its own copy: one cold ADD+DEL first (our first run reads every file and
# builds its index), then N ADD+DEL pairs, the two plugins interleaved pair by pair so that both see the
# same machine state. Prints the medians and the ratio.
#
#   usage: benchmarks/host-local/bench.sh [N] [OUR_BINARY] [REFERENCE_BINARY]
#   defaults: N=15, artifacts/cni/bin/host-local (./build.sh publishes it), /usr/lib/cni/host-local
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-15}
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

now_ns() { date +%s%N; }

# One ADD then one DEL; prints the elapsed milliseconds of the pair, checks both succeeded.
pair() { # $1 binary, $2 data dir, $3 container id
  local conf t0 t1 out
  conf=$(config "$2")
  t0=$(now_ns)
  out=$(CNI_COMMAND=ADD CNI_CONTAINERID="$3" CNI_NETNS=/var/run/netns/bench CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin "$1" <<<"$conf") \
    || { echo "ADD failed ($1): $out" >&2; exit 1; }
  CNI_COMMAND=DEL CNI_CONTAINERID="$3" CNI_NETNS=/var/run/netns/bench CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin "$1" <<<"$conf" >/dev/null \
    || { echo "DEL failed ($1)" >&2; exit 1; }
  t1=$(now_ns)
  echo $(( (t1 - t0) / 1000000 ))
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

cp -a "$work/base" "$work/ours"
cp -a "$work/base" "$work/ref"
sync

echo "==> cold: first ADD+DEL on a fresh copy"
cold_ref=$(pair "$ref" "$work/ref" cold)
cold_ours=$(pair "$ours" "$work/ours" cold)
echo "    reference ${cold_ref} ms, ours ${cold_ours} ms (ours reads every file once and builds its index)"

echo "==> $n ADD+DEL pairs each, interleaved"
: >"$work/ref.ms"; : >"$work/ours.ms"
for i in $(seq 1 "$n"); do
  pair "$ref" "$work/ref" "bench$i" >>"$work/ref.ms"
  pair "$ours" "$work/ours" "bench$i" >>"$work/ours.ms"
done
m_ref=$(median <"$work/ref.ms")
m_ours=$(median <"$work/ours.ms")
echo "    reference: $(tr '\n' ' ' <"$work/ref.ms")"
echo "    ours:      $(tr '\n' ' ' <"$work/ours.ms")"
echo
echo "median ADD+DEL on a nearly full /16 ($fill reservations):"
echo "  reference $ref: ${m_ref} ms"
echo "  ours      $ours: ${m_ours} ms"
awk -v r="$m_ref" -v o="$m_ours" 'BEGIN { if (o > 0) printf "  ratio: %.1fx faster\n", r / o }'

# Both plugins on one directory: after each reference ADD+DEL our index is stale, and our next run re-checks
# every file with one statx (reading only what changed) before it can allocate.
: >"$work/mixed.ms"
for i in 1 2 3 4 5; do
  pair "$ref" "$work/ours" "mixgo$i" >/dev/null
  pair "$ours" "$work/ours" "mixus$i" >>"$work/mixed.ms"
done
echo "  ours right after a reference run on the same directory (stale index): $(median <"$work/mixed.ms") ms (median of 5)"
# Replay the same ten ADD+DEL pairs on the reference's copy so that both directories share one history.
for i in $(seq 1 10); do pair "$ref" "$work/ref" "mix$i" >/dev/null; done

# Both must have handed out the same addresses: compare the resulting directories (the index aside).
if diff <(cd "$work/ref/bench" && ls) <(cd "$work/ours/bench" && ls) >/dev/null \
   && cmp -s "$work/ref/bench/last_reserved_ip.0" "$work/ours/bench/last_reserved_ip.0"; then
  echo "  same files and same last_reserved_ip.0 ($(cat "$work/ours/bench/last_reserved_ip.0")) in both directories"
else
  echo "  WARNING: the two directories differ" >&2
  exit 1
fi
