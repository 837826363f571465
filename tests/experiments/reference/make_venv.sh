#!/usr/bin/env bash
# Builds .venv-reference at the repository root: gbstats 0.8.0 and statsmodels, the reference
# implementations tests/experiments/test_gbstats_parity.py compares tenure.experiments.stats with.
# gbstats needs numpy<2 and pandas<2, which the project's own venv cannot hold, hence a venv of
# its own. Idempotent: the stamp holds the requirements it was built from, so editing
# requirements.txt (or changing the interpreter) rebuilds it; otherwise this is a no-op.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="$root/.venv-reference"
requirements="$here/requirements.txt"
stamp="$venv/.installed"
python="${PYTHON:-python3}"

wanted="$("$python" --version 2>&1)
$(cat "$requirements")"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    exit 0
fi

fail() {
    echo "make_venv.sh: could not build $venv: $1" >&2
    exit 1
}

echo "building $venv (the gbstats reference, about half a minute)"
rm -rf "$venv"
"$python" -m venv "$venv" || fail "$python -m venv failed"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" \
    || fail "pip install -r $requirements failed (see above)"
imports="import gbstats.frequentist.tests, gbstats.bayesian.tests, statsmodels.stats.multitest, growthbook"
"$venv/bin/python" -c "$imports" || fail "gbstats or statsmodels do not import"
printf '%s' "$wanted" >"$stamp"
