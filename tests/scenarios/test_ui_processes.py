"""The editor across processes: recovery after kill -9, and the key in a real Secret Service."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.engine import keystore
from editor.ui.app import open_first
from editor.ui.mainwindow import MainWindow
from tests.conftest import subprocess_env
from tests.support.ui_helpers import make_settings


def test_edits_survive_kill_9_and_are_offered_at_next_start(
        tmp_path: Path, qtbot: Any, qloop: Any) -> None:
    scene_path = tmp_path / "ferry.castline"
    scene_path.write_text(read_resource_text("samples/night-ferry.castline"), "utf-8")
    child = subprocess.Popen([sys.executable, "-m", "tests.support.recovery_child", str(scene_path),
                              str(tmp_path / "child.ini")], stdout=subprocess.PIPE, text=True,
                             env=subprocess_env(QT_QPA_PLATFORM="offscreen"))
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "autosaved"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()
    # The file on disk never saw the edit...
    assert sceneio.load(scene_path).lines[0].text.startswith("[whispers]")
    # ...and the next start offers it.
    win = MainWindow(make_settings(tmp_path), sandbox=True, cache_root=tmp_path / "c")
    qtbot.addWidget(win)
    win.confirm_discard = lambda: True  # type: ignore[method-assign]
    asked: list[str] = []
    open_first(win, win.settings, scene_path, lambda title, text: asked.append(text) or True)
    assert asked and "ferry.castline" in asked[0]
    assert win.scene.lines[0].text == "Recovered words."
    assert win.path == scene_path.resolve()
    assert win.isWindowModified()
    qloop.run_until_complete(win.shutdown())


def test_no_secure_keyring_gives_a_clear_message() -> None:
    # conftest selects keyring's null backend: what a machine without one looks like.
    assert keystore.get_key() is None
    with pytest.raises(keystore.KeyStoreError, match="no secure keyring"):
        keystore.set_key("aio_never_stored_000000")


CHILD = """
import sys
from editor.engine import keystore
key = sys.argv[1]
assert keystore.get_key() is None
keystore.set_key(key)
assert keystore.get_key() == key, "read back"
print("stored")
"""


def test_key_in_a_real_secret_service_and_nowhere_on_disk(tmp_path: Path,
                                                          isolated_dirs: Path) -> None:
    for tool in ("dbus-run-session", "gnome-keyring-daemon"):
        assert shutil.which(tool), f"{tool} is needed (bash packaging/dev test installs it)"
    key = "aio_" + "k7Hq2ZpX9rLmW4tV8nB3cD6f"
    home = tmp_path / "home"
    home.mkdir()
    env = subprocess_env(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
                         XDG_CONFIG_HOME=str(home / ".config"))
    env.pop("PYTHON_KEYRING_BACKEND", None)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    script = ("echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && "
              f'"{sys.executable}" -c "$CHILD" "$KEY"')
    p = subprocess.run(["dbus-run-session", "--", "bash", "-c", script], env={
        **env, "CHILD": CHILD, "KEY": key}, capture_output=True, text=True, timeout=60,
        check=False)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "stored" in p.stdout
    # The key is in the keyring's encrypted store, and in no file in plain text.
    # (os.walk: the daemon, still exiting, may remove its runtime folder while we look.)
    hits, searched = [], 0
    for root in (home, isolated_dirs):
        for folder, _dirs, names in os.walk(root):
            for name in names:
                f = Path(folder) / name
                try:
                    data = f.read_bytes() if f.is_file() else b""
                except FileNotFoundError:
                    continue
                searched += 1
                if key.encode() in data:
                    hits.append(f)
    assert hits == [] and searched > 0
    assert list((home / ".local/share/keyrings").glob("*.keyring"))  # it really went there
