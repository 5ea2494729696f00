"""Check that every shared library the frozen tree needs is either in the tree or in the .deb's
Depends, and say which Debian package provides each one the system must supply.

    python3 packaging/linux/check_deps.py TREE --depends "libc6 (>= 2.34), libglib2.0-0, ..." \
        [--recommends "..."] [--print]

Reads each ELF file's NEEDED entries (readelf -d), drops the ones the tree itself holds,
finds the rest on this machine (ldconfig -p) and their package (dpkg -S). Exits 1, naming the
library, the package and who needs it, when a package is missing from Depends, or when a
library is found nowhere. Plugins Qt loads only when the system has their toolkit (the GTK
theme) may instead be covered by Recommends: Qt skips a plugin whose libraries are missing.

Libraries loaded with dlopen() have no NEEDED entry; the ones Castline's binaries open are
listed in DLOPENED below and checked the same way.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

# Opened with dlopen() (no NEEDED entry): Qt's xcb/EGL integration opens GL and EGL, libxcb-cursor
# is linked; PulseAudio is linked by QtMultimedia. Qt's FFmpeg stubs open libva only if present
# (hardware decoding, optional), and Python's ctypes finds nothing else at run time.
DLOPENED = {"libGL.so.1": "Qt's xcb GLX integration", "libEGL.so.1": "Qt's EGL integration"}

# Plugins Qt loads only when their libraries are present: covered by Recommends (or what a
# Recommends package itself depends on), not Depends. Without GTK the theme plugin is skipped
# and Qt's own file dialog is used.
OPTIONAL = re.compile(r"platformthemes/libqgtk3\.so$")

# Part of libc6 / the dynamic loader: always present, checked through libc6's version.
LIBC = re.compile(r"^(ld-linux.*|libc|libm|libmvec|libdl|libpthread|librt|libutil|libresolv"
                  r"|libanl|libnsl|libBrokenLocale)\.so")


def elf_files(tree: Path) -> list[Path]:
    out = []
    for p in sorted(tree.rglob("*")):
        if p.is_file() and not p.is_symlink():
            with p.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    out.append(p)
    return out


def needed(path: Path) -> list[str]:
    text = subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True,
                          check=False).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", text)


def system_libraries() -> dict[str, str]:
    text = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True,
                          check=True).stdout
    arch = {"x86_64": "x86-64", "aarch64": "AArch64"}.get(os.uname().machine, "")
    found: dict[str, str] = {}
    for m in re.finditer(r"^\s*(\S+) \(([^)]*)\) => (\S+)$", text, re.M):
        soname, flags, path = m.groups()
        if arch in flags:
            found.setdefault(soname, path)
    return found


def find_on_disk(soname: str) -> str | None:
    """Names that are not a library's SONAME (libbz2.so.1) are missing from ldconfig's cache."""
    triplet = subprocess.run(["gcc", "-dumpmachine"], capture_output=True, text=True,
                             check=False).stdout.strip() or "x86_64-linux-gnu"
    for d in (f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib64", "/usr/lib64", "/lib", "/usr/lib"):
        if os.path.exists(f"{d}/{soname}"):
            return f"{d}/{soname}"
    return None


def depends_of(packages: set[str]) -> set[str]:
    """The installed packages' own Depends, one level down."""
    out: set[str] = set()
    for pkg in packages:
        p = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", pkg], capture_output=True,
                           text=True, check=False)
        out |= names(p.stdout)
    return out


def package_of(path: str) -> str | None:
    for candidate in (path, os.path.realpath(path),
                      re.sub(r"^/usr/lib/", "/lib/", os.path.realpath(path))):
        p = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)
        if p.returncode == 0:
            return p.stdout.split(":", 1)[0].strip()
    return None


def names(field: str) -> set[str]:
    """Package names in a Depends-style field (alternatives count, versions ignored)."""
    out = set()
    for part in re.split(r"[,|]", field):
        name = re.sub(r"\(.*?\)", "", part).strip().split(":")[0]
        if name:
            out.add(name)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--depends", required=True)
    ap.add_argument("--recommends", default="")
    ap.add_argument("--print", action="store_true", help="list each library and its package")
    args = ap.parse_args(argv)
    tree: Path = args.tree
    depends, recommends = names(args.depends), names(args.recommends)
    recommends |= depends_of(recommends)  # libgtk-3-0 brings cairo, pango, atk, ...

    bundled = {p.name for p in tree.rglob("*")}
    system = system_libraries()
    wanted: dict[str, set[str]] = {}  # soname -> who needs it (relative paths)
    optional_only: dict[str, bool] = {}
    for f in elf_files(tree):
        rel = str(f.relative_to(tree))
        opt = bool(OPTIONAL.search(rel))
        for so in needed(f):
            if so in bundled:
                continue
            wanted.setdefault(so, set()).add(rel)
            optional_only[so] = optional_only.get(so, True) and opt
    for so, who in DLOPENED.items():
        wanted.setdefault(so, set()).add(who + " (dlopen)")
        optional_only[so] = False

    problems, rows, packages = [], [], set()
    for so in sorted(wanted):
        who = sorted(wanted[so])
        path = system.get(so) or find_on_disk(so)
        pkg = package_of(path) if path else None
        if LIBC.match(so):
            pkg = pkg or "libc6"
        rows.append((so, pkg or "?", len(who), who[0]))
        if pkg is None:
            problems.append(f"{so} (needed by {who[0]}) is not in the tree and not on this "
                            "system: bundle it or install its package and add it to Depends")
            continue
        packages.add(pkg)
        covered = depends | (recommends if optional_only[so] else set())
        if pkg not in covered:
            field = "Recommends" if optional_only[so] else "Depends"
            problems.append(f"{so} (needed by {who[0]}{' and others' if len(who) > 1 else ''})"
                            f" comes from {pkg}, which is not in the .deb's {field}")
    if args.print:
        for so, pkg, n, first in rows:
            print(f"{so:32} {pkg:28} {n:3}  {first}")
        print("packages:", ", ".join(sorted(packages)))
    unused = sorted(depends - packages - {"libc6"})
    if unused:
        print("check_deps: in Depends but needed by no binary (kept: maybe dlopened): "
              + ", ".join(unused), file=sys.stderr)
    for p in problems:
        print(f"check_deps: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_deps: {len(wanted)} system libraries, all from the .deb's Depends "
          f"({len(packages)} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
