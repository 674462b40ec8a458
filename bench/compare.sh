#!/usr/bin/env bash
# Before/after: the same bench.load commands on a base tree and on this tree, one after the other, then both
# tables and a summary of their JSON lines side by side.
#
#   bench/compare.sh BASE_DIR            # e.g. a worktree: git worktree add /tmp/base <commit>
#
# The bench code is this tree's (copied to a temporary folder), the platform each run starts is the tree's
# under test (embedded/, services/, shared/ imported from it: PYTHONPATH). Settings, from the environment:
#   DRAIN_COUNT (3000)  WINDOW_SECONDS (30)  LATENCY_RATE (200)  EXTRA_ARGS (e.g. "--pg-stats")  IDLE_SECONDS (20)
#   OUT_DIR (test-artifacts/bench/compare-<time>)  PYTHON (.venv/bin/python of this tree)
# Three modes x two trees, a few minutes each on a quiet 2-core machine; nothing else should run meanwhile.
set -euo pipefail

if [[ $# -ne 1 || ! -d $1 ]]; then
    echo "usage: $0 BASE_DIR" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")/.." && pwd)
BASE=$(cd "$1" && pwd)
PY=${PYTHON:-$HERE/.venv/bin/python}
COUNT=${DRAIN_COUNT:-3000}
WINDOW=${WINDOW_SECONDS:-30}
RATE=${LATENCY_RATE:-200}
OUT=${OUT_DIR:-$HERE/test-artifacts/bench/compare-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
COPY=$(mktemp -d)
trap 'rm -rf "$COPY"' EXIT
cp -r "$HERE/bench" "$COPY/bench"
export BENCH_SAMPLE=${BENCH_SAMPLE:-$HERE/../shared/data/complaints_sample.jsonl}

MODES=("drain --count $COUNT" "ingress --seconds $WINDOW" "latency --rate $RATE --seconds $WINDOW")
for args in "${MODES[@]}"; do
    mode=${args%% *}
    for side in base current; do
        tree=$BASE
        [[ $side == current ]] && tree=$HERE
        echo "== $side ($tree): bench.load --mode $args ${EXTRA_ARGS:-}" >&2
        # shellcheck disable=SC2086  # the arguments are words on purpose
        (cd "$COPY" && PYTHONPATH=$tree "$PY" -m bench.load --mode $args ${EXTRA_ARGS:-}) \
            >"$OUT/$mode-$side.out" 2>&1 || echo "   failed: see $OUT/$mode-$side.out" >&2
    done
done

# The idle platform's CPU a second (bench/idle.py), base then current.
for side in base current; do
    tree=$BASE
    [[ $side == current ]] && tree=$HERE
    echo "== $side ($tree): bench.idle" >&2
    (cd "$COPY" && PYTHONPATH=$tree "$PY" -m bench.idle --seconds "${IDLE_SECONDS:-20}") \
        >"$OUT/idle-$side.out" 2>&1 || echo "   failed: see $OUT/idle-$side.out" >&2
done

for args in "${MODES[@]}" idle; do
    mode=${args%% *}
    for side in base current; do
        echo
        echo "### $mode, $side"
        grep '^|' "$OUT/$mode-$side.out" || echo "(no table: see $OUT/$mode-$side.out)"
    done
done

echo
echo "### summary (JSON lines; outputs in $OUT)"
"$PY" - "$OUT" <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
keys = ["drain_per_s", "ingress_per_s", "p99_routed_ms", "raw_hop_per_s", "cpu_ms_per_complaint", "cpu_ms_per_s"]
print("| mode | figure | base | current |\n|---|---|---|---|")
for mode in ("drain", "ingress", "latency", "idle"):
    runs = {}
    for side in ("base", "current"):
        lines = [l for l in (out / f"{mode}-{side}.out").read_text().splitlines() if l.startswith("{")]
        runs[side] = json.loads(lines[-1]) if lines else {}
    for key in keys:
        if runs["base"].get(key) is not None or runs["current"].get(key) is not None:
            print(f"| {mode} | {key} | {runs['base'].get(key)} | {runs['current'].get(key)} |")
PY
