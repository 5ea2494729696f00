"""Replace Qt's ICU data library in the frozen tree with one holding only what Qt can ask for.

    python3 packaging/linux/trim_icu.py TREE --python VENV/bin/python

Qt calls ICU only from QtCore: collation, locale-aware case mapping, time-zone ids and names,
legacy encodings (see icu_check.py). Dropped are the data trees no such call reads: break
iterators and their dictionaries (brkitr: Qt has no ubrk_ call), unit, currency, language and
region display names, transliterators and number-spellout rules (no unum/uloc_getDisplay*/
utrans calls). Kept: collation, locale data, zone names, converters, normalisation,
everything at the top level.

The result is accepted only if icu_check.py (every ICU-backed Qt call, over every locale Qt
knows) prints exactly the same with the trimmed library as with the full one; otherwise the
full library stays and the build fails. Needs icupkg (Debian: icu-devtools) and gcc.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DROP = ("brkitr/", "unit/", "curr/", "lang/", "region/", "translit/", "rbnf/")
HERE = Path(__file__).resolve().parent


def extract(lib: Path) -> tuple[str, bytes]:
    """The icudtNN_dat blob inside libicudata.so.NN (its symbol and its bytes)."""
    syms = subprocess.run(["readelf", "-sW", str(lib)], capture_output=True, text=True,
                          check=True).stdout
    m = re.search(r"\s([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+OBJECT\s+GLOBAL\s+\S+\s+\d+\s+"
                  r"(icudt\d+_dat)$", syms, re.M)
    if not m:
        raise SystemExit(f"trim_icu: no icudtNN_dat symbol in {lib}")
    vaddr, size, name = int(m.group(1), 16), int(m.group(2), 0), m.group(3)
    for line in subprocess.run(["readelf", "-lW", str(lib)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        p = line.split()
        if p and p[0] == "LOAD":
            off, va, filesz = int(p[1], 16), int(p[2], 16), int(p[4], 16)
            if va <= vaddr < va + filesz:
                data = lib.read_bytes()[off + vaddr - va: off + vaddr - va + size]
                return name, data
    raise SystemExit(f"trim_icu: {name} is in no LOAD segment of {lib}")


def build_library(dat: Path, symbol: str, soname: str, out: Path) -> None:
    asm = dat.with_name("icudata.S")
    asm.write_text(f'''    .section .rodata
    .globl {symbol}
    .type {symbol}, @object
    .balign 16
{symbol}:
    .incbin "{dat}"
    .size {symbol}, . - {symbol}
    .section .note.GNU-stack,"",@progbits
''')
    subprocess.run(["gcc", "-shared", "-nostdlib", "-s", f"-Wl,-soname,{soname}",
                    "-Wl,-z,noexecstack", "-o", str(out), str(asm)], check=True)


def check_output(python: str, preload: Path | None) -> str:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LC_ALL": "C.UTF-8"}
    if preload:
        env["LD_PRELOAD"] = str(preload)
    p = subprocess.run([python, str(HERE / "icu_check.py")], env=env, capture_output=True,
                       text=True, timeout=300, check=False)
    if p.returncode != 0:
        raise SystemExit(f"trim_icu: icu_check.py failed: {p.stderr[-2000:]}")
    return p.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--python", required=True, help="a Python with the same PySide6")
    args = ap.parse_args(argv)
    libs = [p for p in args.tree.rglob("libicudata.so.*") if not p.is_symlink()]
    if not libs:
        print("trim_icu: no libicudata in the tree: nothing to do")
        return 0
    for tool in ("icupkg", "gcc"):
        if not shutil.which(tool):
            raise SystemExit(f"trim_icu: {tool} is needed (apt-get install icu-devtools gcc)")
    lib = libs[0]
    symbol, blob = extract(lib)
    with tempfile.TemporaryDirectory(prefix="castline-icu-") as tmp:
        t = Path(tmp)
        # icupkg names the package after the file: icudt73l.dat holds icudt73l/* items.
        package = symbol[: -len("_dat")] + ("l" if sys.byteorder == "little" else "b")
        (t / "out").mkdir()
        full = t / f"{package}.dat"
        full.write_bytes(blob)
        full_lib = t / "full" / lib.name
        full_lib.parent.mkdir()
        shutil.copy2(lib, full_lib)
        items = subprocess.run(["icupkg", "-l", str(full)], capture_output=True, text=True,
                               check=True).stdout.split()
        drop = [i for i in items if i.startswith(DROP)]
        (t / "drop.txt").write_text("\n".join(drop) + "\n")
        trimmed = t / "out" / f"{package}.dat"
        subprocess.run(["icupkg", "-r", str(t / "drop.txt"), str(full), str(trimmed)],
                       check=True, capture_output=True)
        new_lib = t / lib.name
        build_library(trimmed, symbol, lib.name, new_lib)
        want = check_output(args.python, full_lib)
        got = check_output(args.python, new_lib)
        if want != got:
            diff = [f"  full:    {a}\n  trimmed: {b}" for a, b in
                    zip(want.splitlines(), got.splitlines(), strict=False) if a != b][:5]
            print("trim_icu: the trimmed ICU data answers differently; keeping the full one:\n"
                  + "\n".join(diff), file=sys.stderr)
            return 1
        before = lib.stat().st_size
        shutil.copymode(lib, new_lib)
        shutil.copy2(new_lib, lib)
        print(f"trim_icu: {len(drop)} of {len(items)} ICU data items dropped, "
              f"{(before - lib.stat().st_size) / 1048576:.1f} MB saved; "
              f"{len(want.splitlines())} ICU-backed Qt answers identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
