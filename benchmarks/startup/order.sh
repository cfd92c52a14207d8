#!/usr/bin/env bash
# Profile-guided code layout for the one plugin executable.
#
# A plugin process lives a few milliseconds, and most of what it pays beyond the kernel's own work is page faults
# on its executable: the kernel maps the file 64 KiB around each fault ("fault-around"), so every method a run
# touches brings its whole neighbourhood into the resident set. NativeAOT lays methods out in the order ILC
# discovers them, which scatters one ADD's methods over most of the 4 MB of code. This script records which
# methods representative runs execute (callgrind, on a copy of cni-plugins with symbols) and writes them, first
# executed first, to src/Cni.Plugins.MultiCall/hot-methods.txt; the project passes that file to ILC
# (IlcOrderFile), which places those methods first and together.
#
# Runs (each in private network namespaces, nothing touches the machine's own): VERSION; through libcni (cnirun)
# the podman chain bridge + host-local + portmap + firewall + tuning + bandwidth, ADD, CHECK and DEL; ptp with
# static IPAM; loopback. Regenerate after larger code changes; names that no longer exist are dropped here, and
# methods missing from the list still work, they are just laid out after the hot ones.
#   usage: sudo benchmarks/startup/order.sh        needs: root, valgrind, elfutils (eu-unstrip), cnirun, iptables
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
for t in valgrind eu-unstrip cnirun iptables; do
  command -v "$t" >/dev/null || { echo "$t missing (apt-get install valgrind elfutils iptables; cnirun: bash ../shared/tools/cnirun/build.sh)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/cni-order.XXXXXX)
tag=o$$
H=${tag}h C=${tag}c
cleanup() { ip netns del "$H" 2>/dev/null || true; ip netns del "$C" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "==> publish cni-plugins with symbols into $work/pub"
dotnet publish src/Cni.Plugins.MultiCall/Cni.Plugins.MultiCall.csproj -c Release -r linux-x64 -nologo -clp:ErrorsOnly -o "$work/pub" >/dev/null
eu-unstrip "$work/pub/cni-plugins" "$work/pub/cni-plugins.dbg" -o "$work/full"
strip --strip-debug -o "$work/sym" "$work/full"   # valgrind cannot read the DWARF 5 of the .dbg, the symbol table is enough
chmod +x "$work/sym"
mkdir -p "$work/bin" "$work/cg"
types=$("$work/sym" --list)
for t in $types; do
  printf '#!/bin/sh\nexec valgrind -q --log-file=%s/cg/%%p.log --tool=callgrind --callgrind-out-file=%s/cg/%%p.cg %s/types/%s "$@"\n' "$work" "$work" "$work" "$t" > "$work/bin/$t"
  chmod +x "$work/bin/$t"
done
mkdir -p "$work/types"; for t in $types; do ln -s ../sym "$work/types/$t"; done
# A plugin runs our IPAM in-process when CNI_PATH's IPAM file is the executable it runs from (/proc/self/exe), which
# under valgrind is valgrind's tool: IPAM types that point at that file take the in-process path here too.
tool=$(ls /usr/libexec/valgrind/callgrind-*-linux 2>/dev/null | head -1)
[ -n "$tool" ] || { echo "valgrind's callgrind tool not found under /usr/libexec/valgrind" >&2; exit 2; }
for t in host-local static; do ln -sf "$tool" "$work/bin/$t"; done

echo "==> VERSION"
echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$work/bin/bridge" >/dev/null

ip netns add "$H"; ip netns add "$C"
ip netns exec "$H" ip link set lo up
mkdir -p "$work/conf" "$work/cache"
cat > "$work/conf/10-chain.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "order", "plugins": [
  {"type": "bridge", "bridge": "${tag}br", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.251.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$work/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "firewall"},
  {"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.rp_filter": "2"}},
  {"type": "bandwidth", "capabilities": {"bandwidth": true}}]}
JSON
cat > "$work/conf/20-ptp.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "order-ptp", "plugins": [
  {"type": "ptp", "ipam": {"type": "static", "addresses": [{"address": "10.252.0.2/24", "gateway": "10.252.0.1"}]}}]}
JSON
cat > "$work/conf/30-lo.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "order-lo", "plugins": [{"type": "loopback"}]}
JSON
run() { # verb network ifname [cap-args]
  echo "==> $1 $2"
  ip netns exec "$H" env NETCONFPATH="$work/conf" CNI_PATH="$work/bin" CNI_CACHE_DIR="$work/cache" CAP_ARGS="${4:-}" \
    cnirun "$1" "$2" "/var/run/netns/$C" "$tag" "$3" >/dev/null
}
caps='{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}],"bandwidth":{"ingressRate":1000000,"ingressBurst":100000,"egressRate":1000000,"egressBurst":100000}}'
run add order eth0 "$caps"; run check order eth0 "$caps"; run del order eth0 "$caps"
run add order-ptp eth1; run check order-ptp eth1; run del order-ptp eth1
run add order-lo lo; run del order-lo lo
echo "==> deletion helper"
ip netns exec "$H" ip link add "${tag}a" type veth peer name "${tag}b"
index=$(ip netns exec "$H" cat "/sys/class/net/${tag}a/ifindex")
ip netns exec "$H" valgrind -q --log-file="$work/cg/helper.log" --tool=callgrind --callgrind-out-file="$work/cg/helper.cg" \
  "$work/types/bridge" --cni-delete-link "$index" 3<"/var/run/netns/$H"

echo "==> collect"
nm "$work/full" | awk 'NF == 3 {print $1, $3}' > "$work/symbols"
python3 - "$work/symbols" "$work/cg" "$root/src/Cni.Plugins.MultiCall/hot-methods.txt" <<'PY'
import os, re, sys
# every name of each address: ILC folds identical bodies and runtime exports have two names, and callgrind shows one
aliases, address_of = {}, {}
for line in open(sys.argv[1]):
    address, name = line.split()
    address_of[name] = address
    aliases.setdefault(address, []).append(name)
files = sorted((os.path.join(sys.argv[2], f) for f in os.listdir(sys.argv[2])), key=os.path.getmtime)
names, seen = [], set()
for path in files:
    ids = {}
    for line in open(path, errors="replace"):
        m = re.match(r"^c?fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not m:
            continue
        name = m.group(2) or ids.get(m.group(1))
        if m.group(2):
            ids[m.group(1)] = m.group(2)
        name = re.sub(r"'\d+$", "", name or "")
        if name in address_of and name not in seen:
            for alias in aliases[address_of[name]]:
                if alias not in seen:
                    seen.add(alias)
                    names.append(alias)
with open(sys.argv[3], "w") as out:
    out.write("\n".join(names) + "\n")
print(f"    {len(names)} methods from {len(files)} runs -> {sys.argv[3]}")
PY
