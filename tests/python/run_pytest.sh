#!/usr/bin/env bash
# Installs the Python package from python/ into a fresh venv (Debian's python3,
# --system-site-packages for numpy/pytest/OpenCV, no index, no build
# isolation: the README's command), linking the library of BUILD_DIR, and runs
# tests/python with pytest from a directory outside the checkout.
#   run_pytest.sh BUILD_DIR SOURCE_DIR SHARED_DIR DUSK_BINARY
set -euo pipefail
build_dir="$(cd "$1" && pwd)" source_dir="$(cd "$2" && pwd)" shared_dir="$(cd "$3" && pwd)" binary="$4"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python=/usr/bin/python3  # Debian's, whatever else is on PATH
"$python" -m venv --system-site-packages "$work/venv"
# pip builds in place; keep the checkout clean by building from a copy.
cp -r "$source_dir/python" "$work/python"
rm -rf "$work/python/build" "$work/python/"*.egg-info
ln -s "$source_dir/include" "$work/include"
ln -s "$source_dir/src" "$work/src"
DUSK_BUILD_DIR="$build_dir" "$work/venv/bin/python" -m pip install -q --no-build-isolation --no-index "$work/python"
mkdir "$work/run"
cd "$work/run"
DUSK_SHARED_DIR="$shared_dir" DUSK_SOURCE_DIR="$source_dir" DUSK_BINARY="$binary" DUSK_BUILD_DIR="$build_dir" \
  "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$source_dir/tests/python"
