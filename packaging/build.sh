#!/usr/bin/env bash
# Build the one-folder desktop bundle (dist/segviewer/) and smoke-run it offscreen.
# Usage: bash packaging/build.sh            (uses ./.venv, creating it if needed)
# Prints the bundle size and the self-test's start-up time as JSON on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q torch==2.13.0 -e . "pyinstaller>=6.10"
rm -rf build/pyinstaller dist/segviewer
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/segviewer.spec

export QT_QPA_PLATFORM=offscreen
start=$(date +%s.%N)
dist/segviewer/segviewer --self-test --self-test-out build/self-test.png
end=$(date +%s.%N)
size_mb=$(du -sm dist/segviewer | cut -f1)
python3 -c "import json,sys; print(json.dumps({'bundle': 'dist/segviewer', 'bundle_mb': int(sys.argv[1]), 'self_test_s': round(float(sys.argv[3]) - float(sys.argv[2]), 2)}))" "$size_mb" "$start" "$end"
