"""After a full editor session and command-line renders against a service, the key is in no
file Castline wrote: config, cache, data, state, logs, crash reports, takes, exports."""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys
import urllib.parse
from pathlib import Path

from editor.core.catalog import read_resource_text
from tests.conftest import subprocess_env
from tests.support.processes import start_sandbox, stats, stop


def test_the_key_is_in_no_file_after_a_gui_session_and_cli_renders(
        tmp_path: Path, isolated_dirs: Path) -> None:
    key = "sk-hygiene-" + secrets.token_hex(16)
    env = subprocess_env(QT_QPA_PLATFORM="offscreen")
    box, url, _ = start_sandbox(env, "--key", key, "--latency", "0.3")
    try:
        env = {**env, "APIINONE_API_KEY": key}
        work = tmp_path / "work"
        (work / "export").mkdir(parents=True)
        scene = work / "ferry.castline"
        scene.write_text(read_resource_text("samples/night-ferry.castline"), "utf-8")
        gui = subprocess.run([sys.executable, "-m", "tests.support.session_child", str(scene),
                              str(work / "export"), url], env=env, capture_output=True,
                             text=True, timeout=180, check=False)
        assert gui.returncode == 0 and "session done" in gui.stdout, gui.stderr[-2000:]
        cli_env = {**env, "APIINONE_BASE_URL": url}
        for args in (["render", str(scene), "-o", str(work / "cli.mp3")],
                     ["render", str(scene), "-o", str(work / "take.flac"), "--mode", "take"],
                     ["export", str(scene), "--to", str(work / "export"), "--what",
                      "mix,manifest"],
                     ["cost", str(scene), "--json"]):
            p = subprocess.run([sys.executable, "-m", "editor", *args], env=cli_env,
                               capture_output=True, text=True, timeout=120, check=False)
            assert p.returncode == 0, p.stderr
            assert key not in p.stdout + p.stderr
        served = stats(url, key)
    finally:
        stop(box)

    assert served["tasks_created"] >= 10
    assert served["auth_on_audio_host"] == 0 and served["key_in_url"] == 0
    forms = [key.encode(), base64.b64encode(key.encode()), urllib.parse.quote(key).encode(),
             key.encode("utf-16-le")]
    searched = 0
    kinds: set[str] = set()
    for root in (isolated_dirs, tmp_path):  # config, cache, data, state (+ logs), scene, exports
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                searched += 1
                kinds.add(path.suffix)
                assert not any(f in data for f in forms), f"the key is in {path}"
    print(f"\nkey hygiene: {searched} files searched ({', '.join(sorted(kinds))}), 0 hits")
    log = next(isolated_dirs.rglob("castline.log"))
    assert "simulated failure with key" in log.read_text("utf-8")  # the crash was logged...
    assert searched > 50 and {".log", ".jsonl", ".castline", ".wav", ".conf", ".mp3"} <= kinds
    assert any(p.name == "Castline.conf" for p in isolated_dirs.rglob("*.conf"))
