#!/usr/bin/env bash
# Runs the whole test suite: publishes the plugins first (interop tests run the published
# binaries), then every test project. Kernel tests need root and are skipped, with the reason,
# otherwise; interop tests are skipped when their peers are missing (.ci/run installs them).
#   usage: ./test.sh [extra dotnet test arguments, e.g. --filter TestCategory!=Interop]
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

./build.sh --no-demo --no-pack

results=artifacts/test-results
rm -rf "$results"
status=0
dotnet test Cni.sln -c Release --no-build -nologo --logger "trx" --logger "console;verbosity=normal" \
  --results-directory "$results" "$@" || status=$?

# One closing line over all projects, from the TRX files.
python3 - "$results" <<'PY' || true
import glob, sys, xml.etree.ElementTree as ET
p = f = s = 0
failures = []
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    root = ET.parse(path).getroot()
    c = root.find(".//{*}ResultSummary/{*}Counters")
    if c is None: continue
    p += int(c.get("passed", 0)); f += int(c.get("failed", 0)) + int(c.get("error", 0)); s += int(c.get("total", 0)) - int(c.get("executed", 0))
    for r in root.iter("{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}UnitTestResult"):
        if r.get("outcome") in ("Failed", "Error"):
            msg = r.find(".//{*}Message")
            text = (msg.text or "").strip() if msg is not None else ""
            failures.append(f"FAILED {r.get('testName')}: {text[:1500]}")
# Failures last, so that the tail of a long log names them.
for line in failures: print(line)
print(f"tests: {p} passed, {f} failed, {s} skipped")
PY
exit $status
