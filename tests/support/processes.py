"""Castline in other processes: a `castline sandbox` to render against, its ledger, and a
`castline render` to kill."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from editor.core import sceneio
from tests.support.engine_helpers import small_scene


def start_sandbox(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen([sys.executable, "-m", "editor", "sandbox", "--port", "0",
                             "--no-espeak", *extra], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    url = key = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (url and key):
        line = proc.stdout.readline()
        if m := re.search(r"API on (http://\S+),", line):
            url = m.group(1)
        if m := re.search(r"Sandbox key: (\S+)", line):
            key = m.group(1)
    assert url and key, "the sandbox did not start"
    return proc, url, key


def stats(url: str, key: str) -> dict[str, float]:
    """The sandbox's ledger; its control endpoints need its key."""
    req = urllib.request.Request(url + "/_sandbox/stats",
                                 headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def start_render(tmp_path: Path, env: dict[str, str], url: str, key: str, jobs: int
                 ) -> tuple[Path, Path, dict[str, str], subprocess.Popen[bytes]]:
    """``castline render`` of a six-line scene against the sandbox at ``url``, in a child
    process: (scene file, output, the environment it ran with, the process)."""
    path = tmp_path / "scene.castline"
    sceneio.save(small_scene(6), path)
    out = tmp_path / "scene.wav"
    env = {**env, "APIINONE_BASE_URL": url, "APIINONE_API_KEY": key}
    render = subprocess.Popen([sys.executable, "-m", "editor", "render", str(path), "-o",
                               str(out), "--jobs", str(jobs)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path, out, env, render


@contextlib.contextmanager
def writer_pointed_at_a_sandbox(*extra: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A ``castline sandbox`` in its own process, and the environment of a writer pointed at
    it (its address and key, as a test server's would be): (url, key, env). Stopped after."""
    from tests.conftest import subprocess_env

    box, url, key = start_sandbox(subprocess_env(), *extra)
    try:
        yield url, key, subprocess_env(APIINONE_BASE_URL=url, APIINONE_API_KEY=key)
    finally:
        stop(box)


def stop(box: subprocess.Popen[str]) -> None:
    """Stop a ``castline sandbox`` started by :func:`start_sandbox`."""
    box.send_signal(signal.SIGINT)
    box.wait(timeout=10)
    if box.stdout:
        box.stdout.close()
