"""Replace Qt's ICU data library in the frozen tree with one holding only what Castline asks for.

    python3 packaging/linux/trim_icu.py TREE --python VENV/bin/python

Qt calls ICU only from QtCore: collation, locale-aware case mapping, time-zone ids and names,
legacy encodings (see icu_check.py). Two cuts:

1. Data no Qt call reads at all (14.6 MB): break iterators and their dictionaries (Qt has no
   ubrk_ call), unit, currency, language and region display names, transliterators and
   number-spellout rules (no unum/uloc_getDisplay*/utrans calls), Unicode character names,
   confusables, StringPrep/IDNA and NFKC tables. Every ICU-backed Qt answer, over every locale
   Qt knows, must stay byte for byte the same.
2. Data only Qt calls Castline never makes can read (7.4 MB): localised time-zone names (only
   QTimeZone::displayName reads them; Castline shows no time zone) and the multi-byte legacy
   code pages (CJK and EBCDIC tables over 16 KB; only QStringDecoder/QStringEncoder by name
   reach them, which Castline never uses and PySide6 cannot even call). Collation (the file
   dialogs sort with it), case mapping and the time-zone id list must stay identical; the
   answers that change are counted and printed.

Either cut is accepted only under its check; otherwise the build fails and the full library
stays. Needs icupkg (Debian: icu-devtools) and gcc.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

DROP = ("brkitr/", "unit/", "curr/", "lang/", "region/", "translit/", "rbnf/", "unames.icu",
        "confusables.cfu", "uts46.nrm", "nfkc.nrm", "nfkc_cf.nrm", "uemoji.icu", "ulayout.icu")
DROP_SPP = ".spp"  # StringPrep profiles (no usprep_/uidna_ call)
# Cut 2: read only by calls Castline never makes.
DROP_UNUSED = ("zone/",)
BIG_CODEPAGE = 16384  # bytes: multi-byte (CJK, EBCDIC DBCS) tables; single-byte ones stay
# icu_check.py lines that cut 2 may change, and those it must not.
MAY_CHANGE = ("tz ", "codecs ", "enc ")
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


def item_sizes(blob: bytes) -> dict[str, int]:
    """Item name -> size, from the package's table of contents (ICU's common data format)."""
    header = struct.unpack_from("<H", blob, 0)[0]
    count = struct.unpack_from("<I", blob, header)[0]
    entries = [struct.unpack_from("<II", blob, header + 4 + 8 * i) for i in range(count)]
    sizes = {}
    for i, (name_at, data_at) in enumerate(entries):
        end = entries[i + 1][1] if i + 1 < count else len(blob) - header
        raw = blob[header + name_at: blob.index(b"\0", header + name_at)].decode()
        sizes[raw.split("/", 1)[1]] = end - data_at
    return sizes


def trimmed_library(tmp: Path, name: str, full: Path, package: str, drop: list[str],
                    symbol: str, soname: str) -> Path:
    work = tmp / name
    (work / "out").mkdir(parents=True)
    trimmed = work / "out" / f"{package}.dat"
    drop = list(drop)
    for _ in range(5):  # items built on a dropped one go too (windows-936 extends ibm-1386)
        (work / "drop.txt").write_text("\n".join(drop) + "\n")
        p = subprocess.run(["icupkg", "-r", str(work / "drop.txt"), str(full), str(trimmed)],
                           capture_output=True, text=True, check=False)
        dependents = re.findall(r"^Item (\S+) depends on missing item", p.stderr, re.M)
        if p.returncode == 0 and not dependents:
            break
        if not dependents:
            raise SystemExit(f"trim_icu: icupkg failed: {p.stderr[-1000:]}")
        drop += dependents
    else:
        raise SystemExit("trim_icu: icupkg kept finding dependent items")
    out = work / soname
    build_library(trimmed, symbol, soname, out)
    return out


def first_differences(want: str, got: str) -> str:
    diffs = [f"  full:    {a}\n  trimmed: {b}" for a, b in
             zip(want.splitlines(), got.splitlines(), strict=False) if a != b]
    return "\n".join(diffs[:5]) or "  (different number of lines)"


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
        full = t / f"{package}.dat"
        full.write_bytes(blob)
        full_lib = t / "full" / lib.name
        full_lib.parent.mkdir()
        shutil.copy2(lib, full_lib)
        items = subprocess.run(["icupkg", "-l", str(full)], capture_output=True, text=True,
                               check=True).stdout.split()
        sizes = item_sizes(blob)
        drop = [i for i in items if i.startswith(DROP) or i.endswith(DROP_SPP)]
        unused = [i for i in items if i.startswith(DROP_UNUSED)
                  or (i.endswith(".cnv") and sizes.get(i, 0) > BIG_CODEPAGE)]
        want = check_output(args.python, full_lib)
        lib1 = trimmed_library(t, "cut1", full, package, drop, symbol, lib.name)
        got = check_output(args.python, lib1)
        if want != got:
            print("trim_icu: without the data no Qt call reads, ICU answers differently; "
                  "keeping the full library:\n" + first_differences(want, got), file=sys.stderr)
            return 1
        lib2 = trimmed_library(t, "cut2", full, package, drop + unused, symbol, lib.name)
        got2 = check_output(args.python, lib2)
        kept_w = [ln for ln in want.splitlines() if not ln.startswith(MAY_CHANGE)]
        kept_g = [ln for ln in got2.splitlines() if not ln.startswith(MAY_CHANGE)]
        if kept_w != kept_g:
            print("trim_icu: without zone names and multi-byte code pages, collation, case "
                  "mapping or zone ids changed; keeping the full library:\n"
                  + first_differences("\n".join(kept_w), "\n".join(kept_g)), file=sys.stderr)
            return 1
        changed = len(set(want.splitlines()) - set(got2.splitlines()))
        before = lib.stat().st_size
        shutil.copymode(lib, lib2)
        shutil.copy2(lib2, lib)
        after1 = lib1.stat().st_size
        print(f"trim_icu: cut 1 (data no Qt call reads: {len(drop)} items): "
              f"{(before - after1) / 1048576:.1f} MB, all {len(want.splitlines())} ICU-backed "
              f"Qt answers identical; cut 2 (zone names, {sum(i.endswith('.cnv') for i in unused)}"
              f" multi-byte code pages): {(after1 - lib.stat().st_size) / 1048576:.1f} MB, "
              f"collation/case/zone ids identical, {changed} zone-name/codec answers changed "
              f"(calls Castline never makes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
