#!/usr/bin/env bash
# Restores and builds everything, publishes every plugin NativeAOT into artifacts/cni/bin/ under its
# CNI type name, packs the libraries into artifacts/packages/ and, when run as root and the demo
# exists, runs the demo.
#   usage: ./build.sh [--no-demo] [--no-pack]
set -euo pipefail
cd "$(dirname "$0")"
demo=1 pack=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=0 ;;
    --no-pack) pack=0 ;;
    *) echo "usage: $0 [--no-demo] [--no-pack]" >&2; exit 2 ;;
  esac
done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# NativeAOT links with clang (or gcc) and needs zlib's headers; install them when missing and root.
if ! command -v clang >/dev/null || [ ! -e /usr/include/zlib.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing the NativeAOT toolchain (clang, zlib1g-dev)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang zlib1g-dev >/dev/null
  fi
fi

echo "==> restore and build (Release)"
dotnet build Cni.sln -c Release -nologo -clp:ErrorsOnly

bin=artifacts/cni/bin
mkdir -p "$bin" artifacts/bin
echo "==> publish the plugins NativeAOT into $bin (one executable, a link per CNI type) and the cni tool into artifacts/bin"
publish() { # project, output folder: publish NativeAOT and copy just the native executable (no .dbg, no stray .dll)
  local out=artifacts/publish/$(basename "$1" .csproj)
  dotnet publish "$1" -c Release -r linux-x64 -nologo -clp:ErrorsOnly -o "$out"
  local exe=$out/$(sed -n 's:.*<AssemblyName>\(.*\)</AssemblyName>.*:\1:p' "$1")
  [ "$(head -c4 "$exe" | od -An -c | tr -d ' ')" = '177ELF' ] || { echo "not a native executable: $exe" >&2; exit 1; }
  cp "$exe" "$2/.$(basename "$exe").new" && mv -f "$2/.$(basename "$exe").new" "$2/$(basename "$exe")"
}
publish src/Cni.Plugins.MultiCall/Cni.Plugins.MultiCall.csproj "$bin"
publish src/Cni.Tool/Cni.Tool.csproj artifacts/bin
for type in $("$bin/cni-plugins" --list); do ln -sfn cni-plugins "$bin/$type"; done
ls -l "$bin"

if [ "$pack" = 1 ]; then
  echo "==> pack libraries into artifacts/packages"
  dotnet pack Cni.sln -c Release -nologo -clp:ErrorsOnly --no-build -o artifacts/packages
  ls artifacts/packages
fi

if [ "$demo" = 1 ] && [ -x samples/demo.sh ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> demo"
    samples/demo.sh
  else
    echo "==> demo skipped: it creates network namespaces and needs root (sudo ./build.sh)"
  fi
fi
