"""Judge a real Castline window from outside its process, on a real X screen.

:class:`StallProbe` sends ``_NET_WM_PING`` to a top-level window every 50 ms and records when
each answer arrives at the root window. Qt's xcb windows answer from their event loop, so the
longest time a ping waits for its answer is the longest the loop stalled (idle: a few ms).

:class:`RealWindow` starts Xvfb on a free display and ``castline SCENE --sandbox`` on it, finds
the window with ``xdotool search --sync --name Castline``, focuses it and presses keys.
:class:`RequestWatch` timestamps every request the window sends to the service (its in-process
sandbox) from outside, with strace: the window is started under
``strace --seccomp-bpf -e trace=sendto`` and each ``POST /api/v1/audio/speech`` is one request.

Needs: Xvfb, xdotool and strace (``packaging/dev``'s TEST_PACKAGES) and python-xlib (the
``test`` extra).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = "POST /api/v1/audio/speech"


@dataclass(slots=True)
class Ping:
    sent: float  # time.monotonic()
    answered: float | None = None

    def wait(self, until: float) -> float:
        """How long it waited for its answer (or has waited, by ``until``)."""
        return (self.answered if self.answered is not None else until) - self.sent


@dataclass(slots=True)
class StallReport:
    pings: list[Ping] = field(default_factory=list)

    def longest(self, start: float = float("-inf"), end: float = float("inf")) -> float:
        """The longest unanswered interval of the pings sent in [start, end] (seconds)."""
        now = time.monotonic()
        waits = [p.wait(min(now, end) if p.answered is None else now)
                 for p in self.pings if start <= p.sent <= end]
        return max(waits, default=0.0)

    def quiet_since(self, over: float = 0.05) -> float | None:
        """When the current quiet stretch began: the time the first ping after the last slow
        one was sent, a slow ping being one that waited more than ``over`` s for its answer
        (or has waited that long and is still waiting). None before any ping, or while the
        latest ping is slow."""
        now = time.monotonic()
        start = None
        for p in reversed(list(self.pings)):  # a copy: the probe's thread appends
            if p.wait(now) > over:
                break
            start = p.sent
        return start

    def quiet_for(self, over: float = 0.05) -> float:
        """How long, up to now, every ping has been answered within ``over`` s (0.0: not)."""
        start = self.quiet_since(over)
        return 0.0 if start is None else time.monotonic() - start

    def stalls(self, over: float = 0.1) -> list[tuple[float, float]]:
        """(start, length) of each stretch of pings waiting more than ``over`` s (merged)."""
        now = time.monotonic()
        out: list[tuple[float, float]] = []
        for p in self.pings:
            w = p.wait(now)
            if w <= over:
                continue
            end = p.sent + w
            if out and p.sent <= out[-1][0] + out[-1][1]:
                s, length = out[-1]
                out[-1] = (s, max(length, end - s))
            else:
                out.append((p.sent, w))
        return out

    def timeline(self, t0: float, over: float = 0.1) -> str:
        parts = [f"{s - t0:+.2f} s: {length * 1000:.0f} ms" for s, length in self.stalls(over)]
        return "; ".join(parts) if parts else f"no stall over {over * 1000:.0f} ms"


class StallProbe:
    """Pings ``window`` on ``display`` every ``interval`` s from a thread of its own (its own
    X connection); ``report`` fills as answers come."""

    def __init__(self, display: str, window: int, interval: float = 0.05) -> None:
        from Xlib import X  # python-xlib, the 'test' extra
        from Xlib import display as xdisplay

        self._X = X
        self.dpy = xdisplay.Display(display)
        self.root = self.dpy.screen().root
        self.window = self.dpy.create_resource_object("window", window)
        self.protocols = self.dpy.intern_atom("WM_PROTOCOLS")
        self.ping_atom = self.dpy.intern_atom("_NET_WM_PING")
        self.interval = interval
        self.report = StallReport()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xprobe", daemon=True)
        # Answers are sent to the root with StructureNotify (Qt 6; SubstructureNotify in other
        # toolkits) | SubstructureRedirect: listening for the notify masks is enough, and does
        # not make this a window manager.
        self.root.change_attributes(event_mask=X.StructureNotifyMask | X.SubstructureNotifyMask)
        self.dpy.flush()

    def start(self) -> StallProbe:
        self._thread.start()
        return self

    def stop(self) -> StallReport:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.dpy.close()
        return self.report

    def __enter__(self) -> StallProbe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _send(self, seq: int) -> None:
        from Xlib.protocol import event

        message = event.ClientMessage(
            window=self.window, client_type=self.protocols,
            data=(32, [self.ping_atom, seq, self.window.id, 0, 0]))
        self.window.send_event(message, event_mask=0)
        self.dpy.flush()

    def _run(self) -> None:
        X = self._X
        seq = 1
        next_ping = time.monotonic()
        fd = self.dpy.fileno()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_ping:
                self.report.pings.append(Ping(now))
                self._send(seq)
                seq += 1
                next_ping += self.interval
                if next_ping < now:  # we were late ourselves: do not burst
                    next_ping = now + self.interval
            timeout = max(0.0, next_ping - time.monotonic())
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready and not self.dpy.pending_events():
                continue
            while self.dpy.pending_events():
                ev = self.dpy.next_event()
                if ev.type != X.ClientMessage or ev.client_type != self.protocols:
                    continue
                fmt, data = ev.data
                if fmt != 32 or data[0] != self.ping_atom or data[2] != self.window.id:
                    continue
                index = int(data[1]) - 1
                if 0 <= index < len(self.report.pings) and \
                        self.report.pings[index].answered is None:
                    self.report.pings[index].answered = time.monotonic()


class RequestWatch:
    """The times (``time.monotonic()``) the window sent each render request, read from the
    strace log of its ``sendto`` calls as it grows."""

    LINE = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\d+\.\d+) sendto\(\d+, \"(.{0,40})")

    def __init__(self, log: Path) -> None:
        self.log = log
        self._offset = 0
        self._carry = ""
        self.sent: list[float] = []
        # strace prints wall-clock time; convert once.
        self._shift = time.monotonic() - time.time()

    def poll(self) -> list[float]:
        if not self.log.exists():
            return self.sent
        with self.log.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
            self._offset += len(chunk)
        text = self._carry + chunk.decode("utf-8", "replace")
        lines = text.split("\n")
        self._carry = lines.pop()
        for line in lines:
            m = self.LINE.match(line)
            if m and m.group(2).startswith(SUBMIT):
                self.sent.append(float(m.group(1)) + self._shift)
        return self.sent


def free_display() -> int:
    for n in range(90, 400):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


def missing_tools() -> list[str]:
    tools = ["Xvfb", "xdotool", "strace"]
    out = [t for t in tools if shutil.which(t) is None]
    try:
        import Xlib  # noqa: F401
    except ImportError:
        out.append("python-xlib")
    return out


def wait_for(condition: object, timeout: float, step: float = 0.02) -> bool:
    """Poll ``condition()`` until true or ``timeout`` s passed (for processes outside)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(step)
    return bool(condition())  # type: ignore[operator]


class RealWindow:
    """Xvfb + ``castline SCENE --sandbox`` under strace, found and driven with xdotool.

    ``tree``: the source tree to run (default: this checkout), so a benchmark can measure an
    older Castline for the 'before' figures.
    """

    def __init__(self, scene: Path, *, latency: float = 1.0, tree: Path | None = None,
                 size: str = "1280x800x24") -> None:
        self.scene = scene
        self.tree = tree or ROOT
        self.latency = latency
        self.size = size
        self.scratch = Path(tempfile.mkdtemp(prefix="castline-xwin-"))
        self.display = f":{free_display()}"
        self.xvfb: subprocess.Popen[bytes] | None = None
        self.app: subprocess.Popen[bytes] | None = None
        self.window = 0
        self.pid = 0  # the window's own process (strace's child)
        self.launched = 0.0  # time.monotonic() when the window's process was started
        self.shown = 0.0  # ... and when xdotool found its window
        self.strace_log = self.scratch / "sendto.log"
        self.requests = RequestWatch(self.strace_log)

    def __enter__(self) -> RealWindow:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
        env.update({
            "DISPLAY": self.display, "QT_QPA_PLATFORM": "xcb",
            "CASTLINE_SANDBOX_LATENCY": str(self.latency),
            "CASTLINE_CACHE_DIR": str(self.scratch / "cache"),
            "CASTLINE_STATE_DIR": str(self.scratch / "state"),
            "XDG_CONFIG_HOME": str(self.scratch / "config"),
            "XDG_RUNTIME_DIR": str(self.scratch / "run"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "PYTHONPATH": str(self.tree), "PULSE_SERVER": "/nonexistent",
        })
        (self.scratch / "run").mkdir(mode=0o700, exist_ok=True)
        # A writer who has seen the welcome once: no dialog over the window to take Ctrl+R.
        conf = self.scratch / "config" / "Castline" / "Castline.conf"
        if not conf.exists():
            conf.parent.mkdir(parents=True, exist_ok=True)
            conf.write_text("[ui]\nwelcomed=true\n", encoding="utf-8")
        return env

    def start(self) -> None:
        n = self.display[1:]
        self.xvfb = subprocess.Popen(["Xvfb", self.display, "-screen", "0", self.size,
                                      "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_for(lambda: Path(f"/tmp/.X11-unix/X{n}").exists(), 10):
            raise RuntimeError("Xvfb did not start")
        self.launched = time.monotonic()
        self.app = subprocess.Popen(
            ["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=sendto", "-e", "signal=none",
             "-s", "40", "-ttt", "-o", str(self.strace_log),
             sys.executable, "-m", "editor", str(self.scene), "--sandbox"],
            cwd=self.tree, env=self.env(), stdout=subprocess.DEVNULL,
            stderr=(self.scratch / "app.err").open("wb"))
        found = self.xdotool("search", "--sync", "--onlyvisible", "--name", "Castline",
                             timeout=60)
        self.shown = time.monotonic()
        self.window = int(found.split()[0])
        self.pid = self.python_pid()
        self.xdotool("windowfocus", "--sync", str(self.window))

    def xdotool(self, *args: str, timeout: float = 20) -> str:
        out = subprocess.run(["xdotool", *args], env=self.env(), capture_output=True,
                             text=True, timeout=timeout, check=True)
        return out.stdout

    def key(self, keys: str) -> float:
        """Press ``keys`` (xdotool's names, e.g. ``ctrl+r``) in the window; when (monotonic)."""
        t = time.monotonic()
        self.xdotool("key", "--window", str(self.window), keys)
        return t

    def probe(self, interval: float = 0.05) -> StallProbe:
        return StallProbe(self.display, self.window, interval)

    def rss_mb(self) -> float:
        """Resident memory of the window's Python process (strace's child), in MB."""
        pid = self.python_pid()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def python_pid(self) -> int:
        assert self.app is not None
        if self.pid:
            return self.pid
        children = Path(f"/proc/{self.app.pid}/task/{self.app.pid}/children").read_text().split()
        if not children:
            raise RuntimeError("the window's process is not running under strace")
        return int(children[0])

    def screenshot(self, path: Path) -> None:
        subprocess.run(["import", "-window", "root", str(path)], env=self.env(), check=True,
                       timeout=30)

    def close(self) -> None:
        """Ends what this started, by process id: the window, strace, Xvfb."""
        if self.app is not None and self.app.poll() is None and self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            wait_for(lambda: not Path(f"/proc/{self.pid}").exists() or _zombie(self.pid), 10)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        for proc in (self.app, self.xvfb):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


SPEAKERS = ("ODILE", "BEN", "PURSER", "CAPTAIN", "NARRATOR")
# Every speaker has a voice, as in a writer's finished episode (no pre-render check question).
VOICES = {"ODILE": "Sarah", "BEN": "George", "PURSER": "Charlie", "CAPTAIN": "Brian",
          "NARRATOR": "Alice"}
SENTENCE = ("the night ferry hums along the channel while the purser counts passengers and "
            "nobody admits to hearing the knock at the door of cabin nine before the lights go out")
WORDS = tuple(SENTENCE.split(" "))
TAGS = ("[whispers]", "[sighs]", "[curious]", "[short pause]", "[laughs]")


def episode_scene(n: int) -> object:
    """A scene of ``n`` distinct lines: five speakers, 40–140 characters, one in seven with an
    audio tag (shared/TESTING.md: generated, never committed)."""
    from editor.core.scene import Scene

    scene = Scene(title=f"Episode of {n:,} lines")
    lines = []
    for i in range(n):
        want = 40 + (i * 37) % 101
        words = []
        j = i
        while sum(len(w) + 1 for w in words) < want:
            words.append(WORDS[j % len(WORDS)])
            j += 1
        text = f"{i + 1}. " + " ".join(words)
        if i % 7 == 3:
            text = f"{TAGS[i % len(TAGS)]} {text}"
        lines.append(scene.new_line(SPEAKERS[i % len(SPEAKERS)], text[:140].rstrip()))
    scene.insert_lines(0, lines)
    for speaker, voice in VOICES.items():
        scene.set_voice(speaker, voice)
    return scene


def write_scene(path: Path, n: int) -> Path:
    """:func:`episode_scene` of ``n`` lines, saved to ``path``."""
    from editor.core import sceneio

    sceneio.save(episode_scene(n), path)  # type: ignore[arg-type]
    return path
