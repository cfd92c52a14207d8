#!/usr/bin/env bash
# Start-up benchmark: our NativeAOT `static` IPAM plugin against the Go reference, one ADD (cniVersion 1.0.0).
#
# Both binaries run N times each in ONE interleaved loop (ours, ref, ref, ours, ...) from a small C driver
# (runner.c: fork/exec, stdin from the config file, stdout read through a pipe like a runtime, wait4), so both
# see the same machine state. Prints wall/CPU medians, the ratio ours/reference, peak RSS, page faults, binary
# sizes, /usr/bin/time -v peak RSS, syscall and thread counts (strace -f), and instruction counts
# (perf stat -e instructions:u when the CPU exposes counters, else valgrind callgrind; see README.md).
#
#   usage: benchmarks/startup/bench.sh [N] [OUR_BINARY] [REFERENCE_BINARY]
#   defaults: N=300, /tmp/st-pub/static, /usr/lib/cni/static
#   PUBLISH=1 publishes ours first: dotnet publish src/Cni.Plugins.Ipam.Static -c Release -r linux-x64 -o /tmp/st-pub
#   Tools: cc (or clang); optional: /usr/bin/time, strace, perf or valgrind (apt-get install time strace valgrind).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benchmarks/startup
n=${1:-300}
ours=${2:-/tmp/st-pub/static}
ref=${3:-/usr/lib/cni/static}

if [ "${PUBLISH:-0}" = 1 ]; then
  echo "==> publishing src/Cni.Plugins.Ipam.Static to $(dirname "$ours")"
  dotnet publish src/Cni.Plugins.Ipam.Static -c Release -r linux-x64 -o "$(dirname "$ours")" >/dev/null
fi
for b in "$ours" "$ref"; do
  [ -x "$b" ] || { echo "missing binary: $b (ours: PUBLISH=1 $0; reference: apt-get install containernetworking-plugins)" >&2; exit 2; }
done
cc=$(command -v cc || command -v clang || true)
[ -n "$cc" ] || { echo "a C compiler (cc or clang) is needed for the driver" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/startup-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$cc" -O2 -o "$work/runner" "$here/runner.c"
# Same input for both: addresses with gateways, routes and DNS (the reference plugin's own test config shape).
cat >"$work/add.json" <<'JSON'
{"cniVersion":"1.0.0","name":"bench","type":"static","ipam":{"type":"static","addresses":[{"address":"10.10.0.1/24","gateway":"10.10.0.254"},{"address":"3ffe:ffff:0:01ff::1/64","gateway":"3ffe:ffff:0::1"}],"routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.10.5.1"},{"dst":"3ffe:ffff:0:01ff::1/64"}],"dns":{"nameservers":["8.8.8.8"],"domain":"example.com","search":["example.com"]}}}
JSON
export CNI_COMMAND=ADD CNI_CONTAINERID=bench-0123456789 CNI_NETNS=/var/run/netns/bench CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni

echo "==> $n ADDs each, interleaved (load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs)"
"$work/runner" "$n" "$work/add.json" "$ours" "$ref" 2>"$work/results"
read -r _ _ ours_wall ours_cpu ours_rss _ < <(grep "^RESULT $ours " "$work/results")
read -r _ _ ref_wall ref_cpu ref_rss _ < <(grep "^RESULT $ref " "$work/results")
awk -v a="$ours_wall" -v b="$ref_wall" -v c="$ours_cpu" -v d="$ref_cpu" \
  'BEGIN { printf "ratio ours/reference: wall %.2f, cpu %.2f\n", a / b, c / d }'

echo "==> binary size"
for b in "$ours" "$ref"; do printf '%-28s %8d bytes\n' "$b" "$(stat -c %s "$b")"; done

if [ -x /usr/bin/time ]; then
  echo "==> peak RSS (/usr/bin/time -v)"
  for b in "$ours" "$ref"; do
    rss=$(/usr/bin/time -v "$b" <"$work/add.json" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p')
    printf '%-28s %8s kB\n' "$b" "$rss"
  done
fi

if command -v strace >/dev/null; then
  echo "==> syscalls and threads (strace -f, one run)"
  for b in "$ours" "$ref"; do
    strace -f -o "$work/trace" "$b" <"$work/add.json" >/dev/null
    printf '%-28s %4d syscalls, %d threads created, %d mmap/mprotect/madvise\n' "$b" \
      "$(grep -vc -e '+++' -e '---' -e 'resumed>' "$work/trace")" \
      "$(grep -c 'clone3\?(' "$work/trace" || true)" \
      "$(grep -cE '^[0-9]+ +(mmap|mprotect|madvise)\(' "$work/trace" || true)"
  done
fi

echo "==> instructions (one run)"
if command -v perf >/dev/null && perf stat -x, -e instructions:u true 2>&1 | grep -q '^[0-9]'; then
  for b in "$ours" "$ref"; do
    perf stat -x, -r 20 -e instructions:u "$b" <"$work/add.json" 2>&1 >/dev/null | awk -F, -v b="$b" '/instructions/ { printf "%-28s %12s instructions:u (perf, mean of 20)\n", b, $1 }'
  done
elif command -v valgrind >/dev/null; then
  # valgrind cannot read the DWARF 5 in our .dbg file: run a copy without it. Go's preemption signals trip
  # callgrind's signal tracking: GODEBUG=asyncpreemptoff=1 (it does not change a run this short).
  cp "$ours" "$work/ours"
  for b in "$work/ours" "$ref"; do
    ir=$(GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$b" <"$work/add.json" 2>&1 >/dev/null | sed -n 's/.*Collected : //p')
    printf '%-28s %12s instructions (callgrind, all threads, user space)\n' "${b/$work\/ours/$ours}" "${ir:-?}"
  done
else
  echo "neither perf with hardware counters nor valgrind is available"
fi
