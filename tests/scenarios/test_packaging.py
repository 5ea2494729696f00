"""The Linux package, built, installed with dpkg and used as a writer would use it, then removed.

Everything below runs the *installed* copy (/usr/bin/castline → /opt/castline), with no project
venv on PATH: the self-test (window offscreen, a line rendered through the sandbox, played to a
PulseAudio null sink; and again with no sound device at all), an export of the mix and every
line to WAV, FLAC and MP3 decoded back with sound in it, the API key set, shown and deleted in a
real Secret Service (gnome-keyring in a private D-Bus session), and the sizes: the installed tree
and the .deb must stay within their budgets, every library the binaries need must be present,
and every ELF file must keep its load segments aligned (the tree is stripped).

Changes the system (installs a package), so it is not part of the default run:
``bash packaging/dev test -m packaging`` (CI runs it after the main suite).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

ROOT = Path(__file__).resolve().parents[2]
OPT = Path("/opt/castline")
# The build alone takes 3–4 minutes on 2 cores (PyInstaller, the ICU check, zstd -19).
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(1500)]

# Budgets (MiB). Measured 2026-12-01 on Debian 12 x86_64: 110.3 installed, .deb 32.6 (xz -6),
# once playback went through QAudioSink and Qt's FFmpeg plugin, FFmpeg and Qt Quick/QML left
# (144.6 and 42.7 before); issue 19 caps them at 150 and 45, aims at 120. Raise them only with
# a reason a writer would accept.
INSTALLED_BUDGET_MB = 113
DEB_BUDGET_MB = 35

KEY = "sk-packaging-test-0123456789abcdef"
KEYRING_SCRIPT = """
set -u
echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
castline key status; echo "rc=$?"
printf '%s\\n' "$KEY" | castline key set >/dev/null; echo "set=$?"
castline key status; echo "rc=$?"
castline key delete >/dev/null; echo "delete=$?"
castline key status; echo "rc=$?"
"""


def tree_mb(path: Path) -> float:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total / 1048576


def control_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True,
                          check=True).stdout.strip()


def install_missing_depends(deb: Path) -> None:
    """What `apt install ./castline.deb` would fetch first, so that plain dpkg -i can succeed."""
    wanted = [re.sub(r"\(.*?\)", "", alt.split("|")[0]).strip()
              for alt in control_field(deb, "Depends").split(",")]
    missing = [p for p in wanted if "ok installed" not in subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True,
        check=False).stdout]
    if missing:
        print(f"\ninstalling the .deb's missing Depends: {' '.join(missing)}")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=True,
                       capture_output=True)


def installed_env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
            "LANG": "C.UTF-8", "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_STATE_HOME": str(home / ".local/state"), **extra}


def rms(data: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(data.astype(np.float64))))) if data.size else 0.0


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    assert os.geteuid() == 0, "installing a .deb needs root (CI runs as root)"
    build = subprocess.run(["bash", "packaging/build-linux.sh"], cwd=ROOT, capture_output=True,
                           text=True, timeout=1400, check=False)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    m = re.search(r"Built (\S+\.deb) \((\S+), installed (\d+) MB\)", build.stdout)
    assert m, build.stdout
    deb = ROOT / m.group(1)
    print("\n" + "\n".join(ln for ln in build.stdout.splitlines()
                           if ln.startswith(("frozen", "strip", "ICU", "trim_icu", "check_deps",
                                             "Built"))))
    subprocess.run(["dpkg", "-r", "castline"], capture_output=True, check=False)
    install_missing_depends(deb)
    install = subprocess.run(["dpkg", "-i", str(deb)], capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stderr
    try:
        yield {"deb": deb, "home": tmp_path_factory.mktemp("home")}
    finally:
        removed = subprocess.run(["dpkg", "-r", "castline"], capture_output=True, text=True,
                                 check=False)
        assert removed.returncode == 0, removed.stderr
        assert not (OPT / "castline").exists()


def test_installed_where_a_writer_finds_it(installed: dict[str, object]) -> None:
    assert Path("/usr/bin/castline").resolve() == OPT / "castline"
    assert Path("/usr/share/applications/one.castline.Castline.desktop").is_file()
    assert Path("/usr/share/icons/hicolor/256x256/apps/one.castline.Castline.png").is_file()
    assert Path("/usr/share/metainfo/one.castline.Castline.metainfo.xml").is_file()
    env = installed_env(installed["home"])  # type: ignore[arg-type]
    assert shutil.which("castline", path=env["PATH"]) == "/usr/bin/castline"
    version = subprocess.run(["castline", "--version"], env=env, capture_output=True, text=True,
                             check=False)
    assert version.stdout.startswith("castline ")


def test_size_budget(installed: dict[str, object]) -> None:
    deb: Path = installed["deb"]  # type: ignore[assignment]
    size_mb, deb_mb = tree_mb(OPT), deb.stat().st_size / 1048576
    print(f"\ninstalled /opt/castline: {size_mb:.1f} MiB (budget {INSTALLED_BUDGET_MB}); "
          f".deb {deb_mb:.1f} MiB (budget {DEB_BUDGET_MB})")
    assert size_mb <= INSTALLED_BUDGET_MB, (
        f"/opt/castline grew to {size_mb:.1f} MiB, over its {INSTALLED_BUDGET_MB} MiB budget: "
        "find what was added (du -a /opt/castline | sort -n) before raising the budget")
    assert deb_mb <= DEB_BUDGET_MB, f"the .deb is {deb_mb:.1f} MiB, over {DEB_BUDGET_MB} MiB"


def test_no_multimedia_plugin_ffmpeg_or_qt_quick(installed: dict[str, object]) -> None:
    """Playback is PCM through QAudioSink (editor/ui/playback/player.py): no back-end plugin,
    so neither FFmpeg nor the Qt Quick/QML that Qt's FFmpeg plugin linked are shipped."""
    shipped = [str(p.relative_to(OPT)) for p in OPT.rglob("*") if not p.is_symlink()
               and (re.match(r"lib(Qt6(Quick|Qml)|Qt6FFmpegStub|av(codec|format|util)|sw(resample"
                             r"|scale))", p.name) or "plugins/multimedia" in str(p))]
    assert shipped == [], shipped
    assert (OPT / "_internal/PySide6/Qt/lib/libQt6Multimedia.so.6").is_file()  # QAudioSink


def test_every_library_is_found_and_every_elf_file_is_aligned(
        installed: dict[str, object]) -> None:
    missing = []
    for dirpath, _dirs, files in os.walk(OPT):
        for name in files:
            p = Path(dirpath) / name
            if p.is_symlink() or not (".so" in name or name == "castline"):
                continue
            with p.open("rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
            out = subprocess.run(["ldd", str(p)], capture_output=True, text=True,
                                 check=False).stdout
            missing += [f"{p}: {ln.strip()}" for ln in out.splitlines() if "not found" in ln]
    assert not missing, "\n".join(missing[:20])
    check = subprocess.run([sys.executable, str(ROOT / "packaging/linux/strip_tree.py"), str(OPT),
                            "--check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_self_test_plays_to_the_null_sink(installed: dict[str, object],
                                          null_audio_sink: str | None) -> None:
    assert null_audio_sink is not None, "the self-test plays to a PulseAudio null sink"
    env = installed_env(installed["home"], PULSE_SERVER=os.environ["PULSE_SERVER"])  # type: ignore[arg-type]
    run = subprocess.run(["castline", "--self-test"], env=env, capture_output=True, text=True,
                         timeout=180, check=False)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "self-test: rendered line 1 through the sandbox" in run.stdout
    assert "self-test: playing to the audio output" in run.stdout
    assert "self-test: passed" in run.stdout


def test_self_test_without_a_sound_device_says_so(installed: dict[str, object],
                                                  tmp_path: Path) -> None:
    env = installed_env(installed["home"], PULSE_SERVER=f"unix:{tmp_path}/no-such-socket")  # type: ignore[arg-type]
    run = subprocess.run(["castline", "--self-test"], env=env, capture_output=True, text=True,
                         timeout=180, check=False)
    assert run.returncode == 3, run.stdout + run.stderr[-3000:]
    assert "self-test: rendered line 1 through the sandbox" in run.stdout
    assert "self-test: no sound device: playback skipped, everything else passed" in run.stdout
    assert "FAILED" not in run.stdout + run.stderr


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
def test_export_mix_and_lines(installed: dict[str, object], tmp_path: Path, fmt: str) -> None:
    scene = tmp_path / "night-ferry.castline"
    shutil.copy(ROOT / "resources" / "samples" / "night-ferry.castline", scene)
    out = tmp_path / "out"
    out.mkdir()
    env = installed_env(installed["home"])  # type: ignore[arg-type]
    run = subprocess.run(["castline", "export", str(scene), "--to", str(out), "--what",
                          "mix,lines", "--format", fmt, "--missing", "render", "--sandbox"],
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    files = sorted(out.glob(f"*.{fmt}"))
    assert len(files) >= 2, (run.stdout, sorted(out.iterdir()))
    durations = {}
    for f in files:
        data, rate = soundfile.read(f, dtype="float32", always_2d=True)
        assert rate >= 16000, f
        assert data.shape[0] > rate // 10, f"{f.name}: {data.shape[0]} frames"
        assert rms(data) > 0.005, f"{f.name} is silent (RMS {rms(data):.4f})"
        durations[f.name] = data.shape[0] / rate
    mix = max(durations, key=durations.__getitem__)
    lines = [d for name, d in durations.items() if name != mix]
    assert durations[mix] >= sum(lines) * 0.9, durations  # the mix holds every line
    print(f"\n{fmt}: {len(files)} files, mix {durations[mix]:.1f} s")


def test_key_set_status_delete_in_a_real_secret_service(installed: dict[str, object],
                                                        tmp_path: Path) -> None:
    for tool in ("dbus-run-session", "gnome-keyring-daemon"):
        assert shutil.which(tool), f"{tool} is needed (bash packaging/dev test installs it)"
    home = tmp_path / "home"
    home.mkdir()
    env = installed_env(home, KEY=KEY)
    p = subprocess.run(["dbus-run-session", "--", "bash", "-c", KEYRING_SCRIPT], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    lines = p.stdout.splitlines()
    assert [ln for ln in lines if re.match(r"^(rc|set|delete)=", ln)] == \
        ["rc=1", "set=0", "rc=0", "delete=0", "rc=1"], p.stdout + p.stderr[-2000:]
    assert "A key is stored in the system keyring." in p.stdout
    assert KEY not in p.stdout + p.stderr
