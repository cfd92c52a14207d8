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
mkdir -p "$bin"
echo "==> publish plugins NativeAOT into $bin"
for proj in src/Cni.Plugins.*/*.csproj src/Cni.Tool/*.csproj; do
  [ -e "$proj" ] || continue
  name=$(basename "$proj" .csproj)
  [ "$name" = Cni.Plugins.Common ] && continue   # the plugins' shared library, not a plugin
  out=artifacts/publish/$name
  dotnet publish "$proj" -c Release -r linux-x64 -nologo -clp:ErrorsOnly -o "$out"
  for exe in "$out"/*; do
    # only the native executable itself (ELF, not a .dbg symbol file or a stray managed .dll)
    [ -f "$exe" ] && [ -x "$exe" ] && [[ "$exe" != *.dbg ]] && [[ "$exe" != *.so ]] || continue
    [ "$(head -c4 "$exe" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    case "$name" in
      Cni.Tool) mkdir -p artifacts/bin && cp "$exe" artifacts/bin/ ;;
      *) cp "$exe" "$bin/" ;;
    esac
  done
done
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
