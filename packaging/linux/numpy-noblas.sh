#!/usr/bin/env bash
# numpy without BLAS/LAPACK for the frozen app: Castline does no linear algebra, and the PyPI
# wheel brings OpenBLAS (24 MB) with gfortran and quadmath (3 MB) in numpy.libs.
#
#   bash packaging/linux/numpy-noblas.sh PYTHON   # prints a folder to put first on PYTHONPATH
#
# Builds the wheel once from numpy's sdist on PyPI (the same version PYTHON has installed), with
# -Dblas=none -Dlapack=none, into a cache outside the repository
# (${CASTLINE_BUILD_CACHE:-~/.cache/castline-build}); later builds only unpack it. The project's
# venv keeps its own numpy: PyInstaller alone sees this one, through PYTHONPATH.
set -euo pipefail
PY=$1
VERSION=$("$PY" -c 'import numpy; print(numpy.__version__)')
TAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}")')
CACHE=${CASTLINE_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/castline-build}
WHEELS="$CACHE/wheels"
DEST="$CACHE/numpy-noblas-$VERSION-$TAG"
find_wheel() { ls "$WHEELS"/numpy-"$VERSION"-"$TAG"-*.whl 2>/dev/null | head -1; }

if [ -z "$(find_wheel)" ]; then
  mkdir -p "$WHEELS"
  echo "numpy-noblas: building numpy $VERSION ($TAG) without BLAS, once (several CPU minutes)" >&2
  start=$(date +%s)
  "$PY" -m pip wheel -q "numpy==$VERSION" --no-binary numpy --no-deps -w "$WHEELS" \
    -Csetup-args=-Dblas=none -Csetup-args=-Dlapack=none >&2
  echo "numpy-noblas: built in $(( $(date +%s) - start )) s" >&2
fi
WHEEL=$(find_wheel)
[ -n "$WHEEL" ] || { echo "numpy-noblas: no wheel was built" >&2; exit 1; }
if [ ! -f "$DEST/.done" ]; then
  rm -rf "$DEST"
  mkdir -p "$DEST"
  "$PY" -m zipfile -e "$WHEEL" "$DEST"
  touch "$DEST/.done"
fi
# It must import, and carry no BLAS: numpy.show_config() names none, no numpy.libs beside it.
PYTHONPATH="$DEST" "$PY" - "$DEST" <<'CHECK' >&2
import sys
from pathlib import Path

import numpy
assert Path(numpy.__file__).is_relative_to(sys.argv[1]), numpy.__file__
blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
assert blas.get("found") is False or blas.get("name") in (None, "none"), blas
assert not (Path(sys.argv[1]) / "numpy.libs").exists()
a = numpy.linspace(-1, 1, 48000, dtype=numpy.float32)
assert abs(float(numpy.dot(a, a)) - 16000.67) < 1  # dot and the mixer's arithmetic, no BLAS
print(f"numpy-noblas: numpy {numpy.__version__} without BLAS from {sys.argv[1]}")
CHECK
echo "$DEST"
