"""Strip the symbols left in the frozen tree's shared libraries, safely.

    python3 packaging/linux/strip_tree.py TREE          # strip, then check every ELF file
    python3 packaging/linux/strip_tree.py TREE --check  # only check

Stripped: each ELF library that still has a symbol table (.symtab): libpython, Python's C
modules, Qt's ICU libraries, libsndfile, cryptography's Rust module, ...
Never stripped:
- the frozen executable (PyInstaller appends its archive to it: strip would cut it off);
- libraries rewritten after linking by auditwheel/patchelf: anything in a ``*.libs`` folder,
  names with a hash (``libfoo-1a2b3c4d.so``), and every file of a package that has such a
  folder (numpy/ beside numpy.libs/, its extension modules had their RPATH patched);
- Qt's FFmpeg libraries (libav*, libsw*), which a naive strip left unloadable ("ELF load
  command address/offset not page-aligned").
Each stripped copy must keep every LOAD segment aligned (offset ≡ vaddr mod align, and mod the
page size) or it is rejected and the original kept. --check fails (exit 1) when any ELF file in
the tree has a misaligned LOAD segment.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PAGE = 4096
HASHED = re.compile(r"-[0-9a-f]{8}(\.|-)")
FFMPEG = re.compile(r"^lib(av(codec|format|util|device|filter)|sw(resample|scale)|postproc)\b")


def is_elf(p: Path) -> bool:
    with p.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def readelf(*args: str) -> str:
    return subprocess.run(["readelf", *args], capture_output=True, text=True, check=False).stdout


def misaligned(p: Path) -> list[str]:
    """LOAD segments whose file offset and address disagree modulo their alignment."""
    bad = []
    for line in readelf("-lW", str(p)).splitlines():
        parts = line.split()
        if not parts or parts[0] != "LOAD":
            continue
        offset, vaddr, align = int(parts[1], 16), int(parts[2], 16), int(parts[-1], 16)
        if align and (offset % align != vaddr % align or (vaddr - offset) % min(align, PAGE)):
            bad.append(f"LOAD offset {offset:#x} vaddr {vaddr:#x} align {align:#x}")
    return bad


def has_symtab(p: Path) -> bool:
    return " .symtab " in readelf("-SW", str(p))


def is_executable(p: Path) -> bool:
    return "INTERP" in readelf("-lW", str(p))


def skip_reason(tree: Path, p: Path, repaired: set[str]) -> str | None:
    rel = p.relative_to(tree)
    if any(part.endswith(".libs") for part in rel.parts[:-1]) or HASHED.search(p.name):
        return "auditwheel-repaired"
    if any(part in repaired for part in rel.parts[:-1]):
        return "package repaired by auditwheel"
    if FFMPEG.match(p.name):
        return "Qt's FFmpeg"
    if is_executable(p):
        return "executable (PyInstaller's archive is appended)"
    return None


def strip_tree(tree: Path) -> tuple[int, list[str]]:
    saved, notes = 0, []
    repaired = {d.name[:-5] for d in tree.rglob("*.libs") if d.is_dir()}
    for p in sorted(tree.rglob("*")):
        if p.is_symlink() or not p.is_file() or not is_elf(p):
            continue
        if skip_reason(tree, p, repaired) or not has_symtab(p):
            continue
        out = p.with_name(p.name + ".stripped")
        r = subprocess.run(["strip", "--strip-unneeded", "-o", str(out), str(p)],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            notes.append(f"kept {p.relative_to(tree)}: strip failed: {r.stderr.strip()}")
            out.unlink(missing_ok=True)
            continue
        bad = misaligned(out)
        if bad:
            notes.append(f"kept {p.relative_to(tree)}: stripped copy misaligned ({bad[0]})")
            out.unlink()
            continue
        before, after = p.stat().st_size, out.stat().st_size
        shutil.copymode(p, out)
        os.replace(out, p)
        saved += before - after
    return saved, notes


def check_tree(tree: Path) -> list[str]:
    return [f"{p.relative_to(tree)}: {bad[0]}" for p in sorted(tree.rglob("*"))
            if not p.is_symlink() and p.is_file() and is_elf(p) and (bad := misaligned(p))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--check", action="store_true", help="only check the LOAD segments")
    args = ap.parse_args(argv)
    if not args.check:
        saved, notes = strip_tree(args.tree)
        for n in notes:
            print(f"strip_tree: {n}", file=sys.stderr)
        print(f"strip_tree: saved {saved / 1048576:.1f} MB")
    problems = check_tree(args.tree)
    for p in problems:
        print(f"strip_tree: misaligned: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
