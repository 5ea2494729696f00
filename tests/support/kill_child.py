"""Child process for the kill tests: saves a scene over and over, alternating two versions,
until it is killed. Run as ``python -m tests.support.kill_child SCENE LINES``."""

from __future__ import annotations

import sys
from pathlib import Path

from editor.core import sceneio
from editor.core.scene import Scene


def version(tag: str, n: int) -> Scene:
    s = Scene(title=f"Version {tag}")
    s.insert_lines(0, [s.new_line("MARA" if i % 2 else "JONAS",
                                  f"{tag} line {i}: a sentence long enough to take some writing.")
                       for i in range(n)])
    return s


def main() -> None:
    path, n = Path(sys.argv[1]), int(sys.argv[2])
    versions = [version("A", n), version("B", n)]
    k = 0
    while True:
        sceneio.save(versions[k % 2], path)
        k += 1
        if k == 2:
            print("saving", flush=True)  # the file and its .bak exist from here on


if __name__ == "__main__":
    main()
