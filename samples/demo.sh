#!/usr/bin/env bash
# The demo ./build.sh runs (as root) at its end: two network namespaces attached to one bridge by our bridge and
# host-local plugins, driven through Cni.Runtime by the `cni` tool; a ping from one to the other; then teardown.
# Everything it creates has a unique name and is removed on exit, also when a step fails.
#   usage: samples/demo.sh            (env: DEMO_CNI_PATH to use other plugins, CNI_TOOL to use another cni binary)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "demo: creates network namespaces and a bridge: run as root" >&2
  exit 2
fi

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
info() { printf '    %s\n' "$*"; }

# What the demo drives besides our binaries: ip (iproute2) and ping. A fresh Debian may have neither: install them
# as build.sh installs its toolchain, so that the README's first command passes on a machine with only the .NET SDK.
missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v ping >/dev/null || command -v busybox >/dev/null || missing+=(iputils-ping)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    echo "==> installing what the demo needs: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "demo: needs ${missing[*]} (not found, and no apt-get to install them)" >&2
    exit 1
  fi
fi

# The cni tool: the NativeAOT one ./build.sh published, else run the project.
if [ -n "${CNI_TOOL:-}" ]; then
  cni=("$CNI_TOOL")
elif [ -x artifacts/bin/cni ]; then
  cni=(artifacts/bin/cni)
else
  cni=(dotnet run -c Release --project src/Cni.Tool --)
fi

# Our plugins, as ./build.sh publishes them.
plugins=${DEMO_CNI_PATH:-$PWD/artifacts/cni/bin}
for p in bridge host-local; do
  if [ ! -x "$plugins/$p" ]; then
    echo "demo: $plugins/$p is missing: run ./build.sh first (or set DEMO_CNI_PATH)" >&2
    exit 1
  fi
done

id=$$
work=$(mktemp -d /tmp/cni-demo.XXXXXX)
bridge="cnidemo$id"
bridge=${bridge:0:15}
ns_a="cni-demo-a-$id"
ns_b="cni-demo-b-$id"
subnet=10.199.213.0/24
added=()

cleanup() {
  status=$?
  trap - EXIT INT TERM
  step "teardown"
  for ns in "${added[@]}"; do
    if run_cni del demo "/var/run/netns/$ns" >/dev/null; then info "DEL $ns"; else info "DEL $ns failed (cleaning up anyway)"; fi
  done
  for ns in "$ns_a" "$ns_b"; do
    ip netns del "$ns" 2>/dev/null && info "removed namespace $ns" || true
  done
  ip link del "$bridge" 2>/dev/null && info "removed bridge $bridge" || true
  rm -f "/run/cni/bridge/$bridge.lock"   # the bridge plugin's lock file for this bridge
  leftovers=$(ls "$work/cache/results" 2>/dev/null; ls "$work/ipam/demo" 2>/dev/null | grep -v -e '^lock$' -e '^last_reserved_ip' || true)
  rm -rf "$work"
  if ip netns list | grep -q -e "$ns_a" -e "$ns_b" || ip link show "$bridge" >/dev/null 2>&1 || [ -n "$leftovers" ]; then
    echo "demo: something was left behind: $leftovers" >&2
    status=1
  else
    info "nothing left behind"
  fi
  if [ "$status" = 0 ]; then step "demo passed"; else step "demo FAILED (exit $status)"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run_cni() {
  NETCONFPATH="$work/net.d" CNI_PATH="$plugins" CNI_CONTAINERID="${3##*/}" \
    "${cni[@]}" "$1" "$2" "$3" --cache-dir "$work/cache" --timeout 60
}

step "network configuration ($work/net.d/10-demo.conflist)"
mkdir -p "$work/net.d"
cat > "$work/net.d/10-demo.conflist" <<JSON
{
  "cniVersion": "1.1.0",
  "name": "demo",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipam": { "type": "host-local", "subnet": "$subnet", "dataDir": "$work/ipam" }
    }
  ]
}
JSON
sed 's/^/    /' "$work/net.d/10-demo.conflist"
info "plugins: $plugins"
info "runtime: ${cni[*]}"

step "create namespaces $ns_a and $ns_b"
ip netns add "$ns_a"
ip netns add "$ns_b"

declare -A addr
for ns in "$ns_a" "$ns_b"; do
  step "cni add demo /var/run/netns/$ns"
  result=$(run_cni add demo "/var/run/netns/$ns")
  added+=("$ns")
  addr[$ns]=$(printf '%s\n' "$result" | sed -n 's/.*"address": "\([0-9.]*\)\/.*/\1/p' | head -n1)
  info "eth0 in $ns has ${addr[$ns]}"
  ip -n "$ns" -br addr show eth0 | sed 's/^/    /'
done

step "cni check (both attachments against the cached results)"
for ns in "$ns_a" "$ns_b"; do
  run_cni check demo "/var/run/netns/$ns"
  info "$ns: ok"
done

step "ping ${addr[$ns_b]} ($ns_b) from $ns_a"
if command -v ping >/dev/null; then ping=(ping); elif command -v busybox >/dev/null; then ping=(busybox ping); else
  echo "demo: no ping (apt-get install iputils-ping or busybox-static)" >&2; exit 1; fi
ip netns exec "$ns_a" "${ping[@]}" -c 3 -W 2 "${addr[$ns_b]}" | sed 's/^/    /'   # pipefail: a lost ping fails here

step "cni del"
for ns in "${added[@]}"; do
  run_cni del demo "/var/run/netns/$ns"
  info "$ns: detached"
done
added=()
