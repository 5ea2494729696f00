"""A private PulseAudio server with a null sink (tests and benchmarks start their own)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def null_sink() -> Iterator[str | None]:
    """Start pulseaudio with a null sink and point this process at it; None if not installed."""
    exe = shutil.which("pulseaudio")
    if exe is None:
        yield None
        return
    runtime = Path(tempfile.mkdtemp(prefix="castline-pulse-"))
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(runtime), "HOME": str(runtime)}
    proc = subprocess.Popen(
        [exe, "--daemonize=no", "--exit-idle-time=-1", "--system=false", "-n",
         "--load=module-null-sink sink_name=null", "--load=module-native-protocol-unix",
         "--use-pid-file=no", "--log-target=stderr"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not (runtime / "native").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.environ["PULSE_RUNTIME_PATH"] = str(runtime)
    os.environ["PULSE_SERVER"] = f"unix:{runtime / 'native'}"
    try:
        yield str(runtime)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(runtime, ignore_errors=True)
