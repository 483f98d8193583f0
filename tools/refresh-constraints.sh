#!/usr/bin/env bash
# The one deliberate upgrade step for CI's pinned versions (constraints/ci.txt).
#
# Makes a fresh temporary venv, installs '.[dev]' unpinned (the newest releases pyproject.toml
# allows), writes their exact versions from `pip freeze` to constraints/ci.txt, then runs
# tests/check.sh in that venv. Review `git diff constraints/ci.txt` and commit it when the
# checks pass. Run it with the Python CI uses: PYTHON=python3.11 bash tools/refresh-constraints.sh
# (PySide6 is held below 6.12 on 3.11 only, so a file frozen on 3.12 would not install on 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/trtgui-constraints.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "== fresh venv with $("$python" --version 2>&1) in $tmp"
"$python" -m venv "$tmp/venv"
# shellcheck disable=SC1091
. "$tmp/venv/bin/activate"
# Newest of everything: no constraint file of the caller's may cap it.
unset PIP_CONSTRAINT
echo "== pip install '.[dev]' (unpinned)"
pip install --quiet '.[dev]'

py_version=$(python -c 'import platform; print(platform.python_version())')
machine="$(uname -s) $(uname -m)"
new="$tmp/ci.txt"
{
  echo "# Exact versions of everything \`pip install '.[dev]'\` installs, for a reproducible CI:"
  echo "#   pip install -c constraints/ci.txt '.[dev]'"
  echo "# Frozen with Python $py_version on $machine (pip freeze; trtgui itself left out, and pip and"
  echo "# setuptools, which come with the venv). Regenerate only with tools/refresh-constraints.sh."
  pip freeze --exclude-editable | grep -v -i -E '^(trtgui==|-e |#)'
} >"$new"
mkdir -p constraints
cp "$new" constraints/ci.txt
echo "== wrote constraints/ci.txt ($(grep -c -v '^#' constraints/ci.txt) pins); git diff shows what moved"

echo "== tests/check.sh with the new versions"
if bash tests/check.sh; then
  echo "== checks pass: commit constraints/ci.txt"
else
  echo "tests/check.sh failed with the new versions: fix the code, or go back to the old pins" \
    "with \`git checkout constraints/ci.txt\`." >&2
  exit 1
fi
