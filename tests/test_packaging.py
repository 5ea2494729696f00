"""The Linux package, built, installed with dpkg, checked with the installed app's
self-test (no project venv on PATH), and removed again.

Changes the system (installs a package), so it is not part of the default run:
``bash packaging/dev test -m packaging`` (CI runs it after the main suite).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.packaging


def test_deb_builds_installs_passes_its_self_test_and_uninstalls(
        tmp_path: Path, null_audio_sink: str | None) -> None:
    assert os.geteuid() == 0, "installing a .deb needs root (CI runs as root)"
    assert null_audio_sink is not None, "the self-test plays to a PulseAudio null sink"
    build = subprocess.run(["bash", "packaging/build-linux.sh"], cwd=ROOT, capture_output=True,
                           text=True, timeout=900, check=False)
    assert build.returncode == 0, build.stderr[-3000:]
    m = re.search(r"Built (\S+\.deb) \((\S+), installed (\d+) MB\)", build.stdout)
    assert m, build.stdout
    deb, installed_mb = ROOT / m.group(1), int(m.group(3))
    print(f"\n.deb {m.group(2)}, {installed_mb} MB installed")
    subprocess.run(["dpkg", "-r", "castline"], capture_output=True, check=False)
    install = subprocess.run(["dpkg", "-i", str(deb)], capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stderr
    try:
        assert Path("/usr/bin/castline").resolve() == Path("/opt/castline/castline")
        assert Path("/usr/share/applications/one.castline.Castline.desktop").is_file()
        assert Path("/usr/share/icons/hicolor/256x256/apps/one.castline.Castline.png").is_file()
        assert Path("/usr/share/metainfo/one.castline.Castline.metainfo.xml").is_file()
        home = tmp_path / "home"
        home.mkdir()
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
               "PULSE_SERVER": os.environ["PULSE_SERVER"], "LANG": "C.UTF-8"}
        assert shutil.which("castline", path=env["PATH"]) == "/usr/bin/castline"
        run = subprocess.run(["castline", "--self-test"], env=env, capture_output=True, text=True,
                             timeout=180, check=False)
        assert run.returncode == 0, run.stdout + run.stderr[-3000:]
        assert "self-test: playing to the audio output" in run.stdout
        assert "self-test: passed" in run.stdout
        version = subprocess.run(["castline", "--version"], env=env, capture_output=True,
                                 text=True, check=False)
        assert version.stdout.startswith("castline ")
    finally:
        removed = subprocess.run(["dpkg", "-r", "castline"], capture_output=True, text=True,
                                 check=False)
    assert removed.returncode == 0, removed.stderr
    assert not Path("/opt/castline/castline").exists()
