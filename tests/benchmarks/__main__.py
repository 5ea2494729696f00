"""Castline's benchmark suite: ``bash packaging/dev bench`` (not part of the test run).

Prints one row per target with the measured figure (medians), the target, and a ratio
where a peer or an ideal was measured in the same run. A benchmark that cannot run says why.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PULSE_LATENCY_MSEC", "30")
NAIVE_FULL = False  # 'naive-full' on the command line: the naive pattern on all 100 lines
SCRATCH = Path(tempfile.mkdtemp(prefix="castline-bench-"))
os.environ["CASTLINE_CACHE_DIR"] = str(SCRATCH / "cache")
os.environ["CASTLINE_STATE_DIR"] = str(SCRATCH / "state")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"

ROWS: list[tuple[str, str, str, str]] = []


def row(what: str, figure: str, target: str, verdict: str) -> None:
    ROWS.append((what, figure, target, verdict))
    print(f"  {what}: {figure} (target {target}) {verdict}", flush=True)


def ok(flag: bool) -> str:
    return "met" if flag else "MISSED"


def median_of(fn: Callable[[], float], n: int) -> float:
    return statistics.median(fn() for _ in range(n))


# --- start-up ----------------------------------------------------------------------------------

BARE = """
import time, sys
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication, QMainWindow, QTableWidget
app = QApplication(sys.argv[:1])
w = QMainWindow(); t = QTableWidget(10, 8); w.setCentralWidget(t); w.show()
app.processEvents()
print("shown", flush=True)
"""


def spawn_until(args: list[str], marker: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert p.stdout is not None
    for line in p.stdout:
        if marker in line:
            elapsed = time.perf_counter() - t0
            break
    else:
        raise RuntimeError(f"{args[0]} never printed {marker!r}")
    p.wait(timeout=30)
    p.stdout.close()
    return elapsed


def bench_start() -> None:
    env = {**os.environ, "CASTLINE_EXIT_WHEN_SHOWN": "1", "XDG_CONFIG_HOME": str(SCRATCH / "cfg")}
    # As installed: pip and the installers compile Castline's bytecode at install time (PySide6's
    # is compiled too). A checkout run with PYTHONDONTWRITEBYTECODE=1, as here, would otherwise
    # compile every module from source on every start.
    package = Path(__file__).resolve().parents[2] / "editor"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True,
                   capture_output=True)
    print("    (bytecode compiled first, as an installed Castline has it)")
    app = median_of(lambda: spawn_until([sys.executable, "-m", "editor", "--sandbox"],
                                        "castline: shown", env), 5)
    bare = median_of(lambda: spawn_until([sys.executable, "-c", BARE], "shown", env), 5)
    row("start → window with the sample scene", f"{app:.2f} s (bare PySide6 window+table "
        f"{bare:.2f} s, ratio {app / bare:.1f}×)", "≤ 0.6 s and ≤ 3×", ok(app <= 0.6 and app / bare <= 3))
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import editor.ui.mainwindow"],
                         capture_output=True, text=True, env=env, check=False).stderr
    entries = []
    for line in out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and m.group(4) != "editor.ui.mainwindow":
            entries.append((int(m.group(2)), m.group(4)))
    print("    import time of the editor window's modules, top 10 (cumulative, nested included):")
    for us, name in sorted(entries, reverse=True)[:10]:
        print(f"      {us / 1000:7.1f} ms  {name}")


# --- a 10,000-line scene -------------------------------------------------------------------------

def big_scene(n: int = 10_000) -> Any:
    from editor.core.scene import Scene

    sentence = ("the night ferry hums along the channel while the purser counts passengers "
                "and nobody admits to hearing the knock at the door of cabin nine")
    words = sentence.split()
    s = Scene(title="Feature")
    lines = []
    for i in range(n):
        k = 8 + (i * 7) % 14
        text = " ".join(words[(i + j) % len(words)] for j in range(k))
        text = f"{i}: {text}"[:60].ljust(60, ".")  # every line distinct: no request is shared
        lines.append(s.new_line(("ODILE", "BEN", "PURSER", "CAPTAIN")[i % 4], text))
    s.insert_lines(0, lines)
    return s


def bench_big_scene() -> Any:
    from editor.core import sceneio

    scene = big_scene()
    chars = sum(len(ln.text) for ln in scene.lines)
    path = SCRATCH / "feature.castline"
    sceneio.save(scene, path)
    saves = []
    for _ in range(5):
        t0 = time.perf_counter()
        sceneio.save(scene, path)
        saves.append(time.perf_counter() - t0)
    code = f"""
import os, sys, time, resource
os.environ["QT_QPA_PLATFORM"] = "offscreen"
t0 = time.perf_counter()
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from editor.core import sceneio
from editor.ui.mainwindow import MainWindow
from editor.ui.settings import Settings
w = MainWindow(Settings(QSettings({str(SCRATCH / 's.ini')!r}, QSettings.Format.IniFormat)), sandbox=True)
w.show(); app.processEvents()
t1 = time.perf_counter()
from pathlib import Path
w.open_path(Path({str(path)!r}))
app.processEvents()
t2 = time.perf_counter()
print(t2 - t1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=False, env=os.environ)
        if out.returncode != 0:
            row("open a 10,000-line scene", "could not run: " + out.stderr[-300:], "≤ 1.5 s", "")
            return scene
        runs.append(tuple(map(float, out.stdout.split()[-2:])))
    open_s = statistics.median(r[0] for r in runs)
    rss = statistics.median(r[1] for r in runs)
    row(f"open a 10,000-line scene ({chars:,} characters)", f"{open_s:.2f} s", "≤ 1.5 s",
        ok(open_s <= 1.5))
    save = statistics.median(saves)
    row("save it", f"{save * 1000:.0f} ms", "≤ 0.5 s", ok(save <= 0.5))
    row("resident memory with it open", f"{rss:.0f} MB", "≤ 200 MB", ok(rss <= 200))
    return scene


def bench_keystroke_and_scroll(scene: Any) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from editor.ui.mainwindow import MainWindow
    from editor.ui.settings import Settings

    app = QApplication.instance() or QApplication([])
    w = MainWindow(Settings(QSettings(str(SCRATCH / "k.ini"), QSettings.Format.IniFormat)),
                   sandbox=True, cache_root=SCRATCH / "kc")
    w.confirm_discard = lambda: True  # type: ignore[method-assign]
    w.resize(1280, 800)
    w.show()
    w.set_scene(scene, None)
    app.processEvents()
    times = []
    for i in range(300):
        r = (i * 7919) % len(scene)
        text = scene.lines[r].text + "x"
        t0 = time.perf_counter()
        w.document.commit_cell(r, "text", text)
        w.update_costs()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times) * 1000
    row("one keystroke in a 10,000-line scene → model, planner, cost panel", f"{med:.2f} ms",
        "≤ 2 ms", ok(med <= 2))
    bare = bare_table_like(w.view)
    views = (w.view, bare)
    for v in views:
        v.verticalScrollBar().setValue(0)
    app.processEvents()
    paints: tuple[list[float], list[float]] = ([], [])
    for _ in range(40):  # the two tables in turn, page by page: both see the same machine load
        for v, times_of in zip(views, paints, strict=True):
            bar = v.verticalScrollBar()
            bar.setValue(bar.value() + bar.pageStep())
            t0 = time.perf_counter()
            v.viewport().repaint()
            times_of.append(time.perf_counter() - t0)
    med, base = (statistics.median(p) * 1000 for p in paints)
    # Judged on the ratio to a bare table of the same size, repainted the same way in the same
    # process: absolute figures on a loaded 2-core machine vary 2-3× from day to day (a bare
    # QTableView with a trivial Python model takes ~19 ms per repaint offscreen here), and the
    # bare table varies with them. The absolute target stays in the column for reference.
    row("scroll the 10,000-line table one page",
        f"{med:.1f} ms per repaint; a bare table of the same size {base:.1f} ms: "
        f"{med / base:.1f}×", "≤ 16 ms; judged: ≤ 2× a bare table", ok(med <= 2 * base))
    bare.close()
    w.close()


BARE_CELL = "the night ferry hums along the channel while a purser counts"  # 60 characters


def bare_table_like(view: Any) -> Any:
    """A bare QTableView shaped like ``view``: the same viewport size, columns of the same
    widths, the same row heights, per-pixel scrolling, no vertical header; its model a trivial
    Python one with a fixed 60-character text in every cell. Shown, at the top."""
    from PySide6.QtCore import QAbstractTableModel, Qt
    from PySide6.QtWidgets import QAbstractItemView, QApplication, QTableView

    source = view.model()
    rows, cols = source.rowCount(), source.columnCount()

    class Bare(QAbstractTableModel):
        def rowCount(self, parent: Any = None) -> int:
            return rows

        def columnCount(self, parent: Any = None) -> int:
            return cols

        def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
            return BARE_CELL if role == Qt.ItemDataRole.DisplayRole else None

    bare = QTableView()
    bare.setModel(Bare(bare))
    bare.verticalHeader().hide()
    bare.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    bare.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    default = view.verticalHeader().defaultSectionSize()
    bare.verticalHeader().setDefaultSectionSize(default)
    for r in range(rows):
        if (h := view.rowHeight(r)) != default:
            bare.setRowHeight(r, h)
    for c in range(cols):
        bare.setColumnWidth(c, view.columnWidth(c))
    bare.show()
    want = view.viewport().size()
    for _ in range(3):  # the frame and the scroll bar around the viewport: adjust to fit
        QApplication.processEvents()
        have = bare.viewport().size()
        if have == want:
            break
        bare.resize(bare.width() + want.width() - have.width(),
                    bare.height() + want.height() - have.height())
    QApplication.processEvents()
    if bare.viewport().size() != want:
        print(f"    (the bare table's viewport is {bare.viewport().size().toTuple()}, "
              f"the scene table's {want.toTuple()})")
    return bare


# --- rendering -----------------------------------------------------------------------------------

async def render_100() -> tuple[float, float]:
    from editor.core.planner import plan
    from editor.engine.cache import AudioCache
    from editor.engine.client import ServiceClient
    from editor.engine.journal import Journal
    from editor.engine.render import RenderEngine
    from editor.engine.sandbox import Sandbox

    scene = big_scene(100)
    async with Sandbox(latency=1.0, use_espeak=False) as box:
        client = ServiceClient(box.base_url, box.key)
        engine = RenderEngine(client, AudioCache(SCRATCH / "r100"), Journal(SCRATCH / "j100"), jobs=8)
        t0 = time.perf_counter()
        outcome = await engine.run(plan(scene, "lines"))
        wall = time.perf_counter() - t0
        await client.aclose()
        assert outcome.ok, outcome.errors
        return wall, box.stats.polls / 100


async def naive(n: int) -> float:
    """The pattern public clients of this API use: one request at a time, a fixed 6 s poll."""
    import httpx

    from editor.core.planner import plan
    from editor.engine.sandbox import Sandbox

    scene = big_scene(n)
    async with Sandbox(latency=1.0, use_espeak=False) as box, httpx.AsyncClient() as http:
        headers = {"Authorization": f"Bearer {box.key}"}
        t0 = time.perf_counter()
        for req in plan(scene, "lines"):
            r = await http.post(box.base_url + "/api/v1/audio/speech", json=req.body, headers=headers)
            task = r.json()["task_id"]
            while True:
                await asyncio.sleep(6)
                state = (await http.get(f"{box.base_url}/api/v1/tasks/{task}", headers=headers)).json()
                if state["status"] == "completed":
                    await http.get(state["audio_url"])
                    break
        return (time.perf_counter() - t0) / n


def bench_render() -> None:
    wall, polls = asyncio.run(render_100())
    ideal = math.ceil(100 / 8) * 1.0
    row("render 100 lines (sandbox latency 1.0 s, 8 parallel)",
        f"{wall:.1f} s = {wall / ideal:.2f}× ideal ({ideal:.0f} s); {polls:.1f} polls per task",
        "≤ 1.15× ideal, ≤ 4 polls", ok(wall <= 1.15 * ideal and polls <= 4))
    if NAIVE_FULL:
        naive_wall = asyncio.run(naive(100)) * 100
        row("the naive pattern (sequential, 6 s poll), the same 100 lines",
            f"{naive_wall:.0f} s, Castline is {naive_wall / wall:.0f}× faster", "print the ratio",
            "(measured on all 100 lines)")
        return
    per_line = asyncio.run(naive(3))
    row("the naive pattern (sequential, 6 s poll), per line × 100",
        f"{per_line * 100:.0f} s, Castline is {per_line * 100 / wall:.0f}× faster",
        "print the ratio", "(measured on 3 lines, the pattern being strictly sequential; "
        "'naive-full' measures all 100, about 10 minutes)")


# --- playback ------------------------------------------------------------------------------------

def bench_playback() -> None:
    from tests.support.pulse import null_sink

    with null_sink() as sink:
        if sink is None:
            row("playback latency", "could not run: pulseaudio is not installed", "", "")
            return
        code = r'''
import asyncio, os, statistics, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QApplication
import qasync
app = QApplication([])
from editor.ui.mainwindow import MainWindow
from editor.ui.settings import Settings
loop = qasync.QEventLoop(app); asyncio.set_event_loop(loop)
w = MainWindow(Settings(QSettings(sys.argv[1], QSettings.Format.IniFormat)), sandbox=True)
w.confirm_discard = lambda: True
w.open_sample(); w.show()

async def playing():
    while True:
        p = w.player.media_player
        if p is not None and p.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            return time.perf_counter()
        await asyncio.sleep(0.001)

async def main():
    finish_to_play, click_to_play = [], []
    session = await w.render.ensure_service()
    box = session.sandbox
    for row in range(5):
        w.stop_playback(); w.select_rows([row])
        box_tasks_before = set(box.tasks)
        w.play_current()                      # not rendered: renders, then plays
        await playing()
        t_play = time.perf_counter()
        (tid,) = set(box.tasks) - box_tasks_before
        finished_at = box.tasks[tid].created + box.latency
        finish_to_play.append(t_play - finished_at)
    for i in range(10):
        w.stop_playback(); w.select_rows([i % 5])
        await asyncio.sleep(0.05)
        t0 = time.perf_counter(); w.play_current(); t1 = await playing()
        click_to_play.append(t1 - t0)
    w.stop_playback()
    print(statistics.median(finish_to_play), statistics.median(click_to_play))
    await w.shutdown()

with loop:
    loop.run_until_complete(main())
'''
        out = subprocess.run([sys.executable, "-c", code, str(SCRATCH / "p.ini")],
                             capture_output=True, text=True, env=os.environ, check=False,
                             timeout=300)
        if out.returncode != 0:
            row("playback latency", "could not run: " + out.stderr.strip()[-300:], "", "")
            return
        finish, click = map(float, out.stdout.split()[-2:])
        row("task finished at the service → its audio playing", f"{finish * 1000:.0f} ms",
            "≤ 300 ms", ok(finish <= 0.3))
        row("click play on a rendered line → audio playing", f"{click * 1000:.0f} ms",
            "≤ 150 ms", ok(click <= 0.15))


# --- mixing --------------------------------------------------------------------------------------

def bench_mix() -> None:
    import io

    import numpy as np
    import soundfile

    from editor.engine.audio import assemble, decode, write
    from editor.engine.voice import RATE, synthetic

    clips_dir = SCRATCH / "clips"
    clips_dir.mkdir()
    paths = []
    for i in range(1000):
        data = synthetic(f"Line {i}: " + "words " * (4 + i % 9), f"voice{i % 4}")
        buf = io.BytesIO()
        soundfile.write(buf, data, RATE, format="MP3")
        p = clips_dir / f"{i}.mp3"
        p.write_bytes(buf.getvalue())
        paths.append(p)
    t0 = time.perf_counter()
    data, rate, _ = assemble([decode(p) for p in paths], 300)
    write(SCRATCH / "mix.wav", data, rate)
    wall = time.perf_counter() - t0
    seconds = len(data) / rate
    row("assemble and write the mix of 1,000 cached clips",
        f"{seconds / wall:.0f}× real time ({seconds / 60:.1f} min of audio in {wall:.1f} s)",
        "≥ 50× real time", ok(seconds / wall >= 50))
    del np


# --- episode size, the real window from outside ----------------------------------------------------

EPISODE_WAIT = float(os.environ.get("CASTLINE_BENCH_WAIT", "300"))  # s to wait for a frozen window


def _episode_tree() -> Path:
    """The Castline to measure: this checkout, or CASTLINE_BENCH_TREE (an older one's source,
    for 'before' figures)."""
    return Path(os.environ.get("CASTLINE_BENCH_TREE") or Path(__file__).resolve().parents[2])


def _until(condition: Callable[[], bool], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# Ctrl+R is pressed only once the window is idle: every ping answered within IDLE_OVER s for
# IDLE_QUIET s in a row (waiting at most IDLE_LIMIT s), so that stalls from opening the scene and
# warming up are not blamed on the render.
IDLE_OVER, IDLE_QUIET, IDLE_LIMIT = 0.05, 2.0, 60.0
EPISODE_SIZES = tuple(int(n) for n in
                      os.environ.get("CASTLINE_BENCH_EPISODE", "50,500,3000").split(","))


def bench_episode() -> None:
    """50, 500 and 3,000 lines (CASTLINE_BENCH_EPISODE) in the real window on Xvfb."""
    for n in EPISODE_SIZES:
        bench_episode_of(n)


def bench_episode_of(n: int) -> None:
    """``n`` lines in the real window on Xvfb, once it is idle: Render Scene (Ctrl+R) → first
    request, Cancel (Ctrl+.) → last request, the longest event-loop stall of each judged from
    outside (_NET_WM_PING every 50 ms), requests timed from outside (strace); sandbox latency 1 s.
    At 3,000 lines, a screenshot mid-render (SCRATCH/episode-3000-rendering.png)."""
    from tests.support import xprobe

    lines = f"{n:,} lines"
    missing = xprobe.missing_tools()
    if missing:
        row(f"{lines}: Render Scene → first request", "could not run: missing "
            + ", ".join(missing) + " (bash packaging/dev bench installs them)", "≤ 1 s", "")
        return
    tree = _episode_tree()
    print(f"    (measuring the Castline in {tree})")
    scene = xprobe.write_scene(SCRATCH / f"episode-{n}.castline", n)
    with xprobe.RealWindow(scene, latency=1.0, tree=tree) as w, w.probe() as probe:
        report = probe.report
        quiet = _until(lambda: report.quiet_for(IDLE_OVER) >= IDLE_QUIET, IDLE_LIMIT)
        now = time.monotonic()
        since = report.quiet_since(IDLE_OVER)
        opening = report.timeline(w.launched)
        if quiet and since is not None:
            idle = report.longest(since, now)  # the idle figure: over the quiet stretch
            print(f"    window idle after {since - w.launched:.1f} s (shown after "
                  f"{w.shown - w.launched:.1f} s; then every ping answered within "
                  f"{IDLE_OVER * 1000:.0f} ms for {now - since:.1f} s)")
        else:
            idle = report.longest(now - IDLE_QUIET, now)
            print(f"    window NOT idle {IDLE_LIMIT:.0f} s after showing (no {IDLE_QUIET:.0f} s "
                  f"with every ping answered within {IDLE_OVER * 1000:.0f} ms): Ctrl+R anyway; "
                  f"the idle figure is the last {IDLE_QUIET:.0f} s")
        print(f"    stalls over 100 ms before Ctrl+R, from launch: {opening}")
        t0 = w.key("ctrl+r")
        got = _until(lambda: bool(w.requests.poll()), EPISODE_WAIT)
        first = w.requests.sent[0] - t0 if got else None
        t1 = t0 + first if first is not None else time.monotonic()
        stall = probe.report.longest(t0, t1)
        waited = f"{first:.2f} s" if first is not None else f"none within {EPISODE_WAIT:.0f} s"
        row(f"{lines}: Render Scene → first request (sandbox latency 1 s)",
            f"{waited}, {first or EPISODE_WAIT:.1f}× the target; longest stall meanwhile "
            f"{stall * 1000:,.0f} ms ({stall / 0.1:,.0f}× 100 ms; idle {idle * 1000:.0f} ms)",
            "≤ 1 s, stall ≤ 100 ms", ok(first is not None and first <= 1 and stall <= 0.1))
        print(f"    stalls over 100 ms, from Ctrl+R: {probe.report.timeline(t0)}")
        # Let it run, then cancel.
        _until(lambda: len(w.requests.poll()) >= min(16, n // 2), 20)
        time.sleep(2.0)
        if n >= 3_000:
            time.sleep(8.0)  # a writer's look at the window mid-render
            try:
                shot = SCRATCH / f"episode-{n}-rendering.png"
                w.screenshot(shot)
                print(f"    screenshot mid-render: {shot}")
            except (OSError, subprocess.SubprocessError):
                pass
        before = len(w.requests.poll())
        # Sending, polling and completing, between the first request and Cancel.
        t_run = time.monotonic()
        stall_r = probe.report.longest(t1, t_run)
        row(f"{lines}: while it renders (send, poll, complete; {t_run - t1:.0f} s)",
            f"longest stall {stall_r * 1000:,.0f} ms ({stall_r / 0.1:,.1f}× 100 ms); "
            f"{before} requests sent", "stall ≤ 100 ms", ok(stall_r <= 0.1))
        tc = w.key("ctrl+period")

        def settled() -> bool:  # the window answers again, and has for 5 s
            pings = [p for p in probe.report.pings if p.sent > tc]
            return bool(pings) and pings[-1].answered is not None and \
                time.monotonic() - tc > 5 and all(
                    p.answered is not None for p in pings if p.sent < time.monotonic() - 0.5)

        _until(settled, EPISODE_WAIT)
        time.sleep(3.0)  # anything still to be sent after the window came back
        sent = w.requests.poll()
        after = [t for t in sent if t > tc]
        last = (after[-1] - tc) if after else 0.0
        stall_c = probe.report.longest(tc, time.monotonic())
        row(f"{lines}: Cancel → last request",
            f"{last:.2f} s ({len(after)} sent after Cancel; {before} before it); longest stall "
            f"{stall_c * 1000:,.0f} ms ({stall_c / 0.1:,.0f}× 100 ms)",
            "≤ 1 s, stall ≤ 100 ms", ok(last <= 1 and stall_c <= 0.1))
        print(f"    stalls over 100 ms, from Cancel: {probe.report.timeline(tc)}")
        try:
            shot = SCRATCH / "episode-cancelled.png"
            w.screenshot(shot)
            print(f"    screenshot after Cancel: {shot}")
        except (OSError, subprocess.SubprocessError):
            pass


def bench_queue_memory() -> None:
    """Resident memory of the real window with 1k / 3k / 10k lines queued (sandbox, 1 s)."""
    from tests.support import xprobe

    missing = xprobe.missing_tools()
    if missing:
        row("RSS with 1k / 3k / 10k lines queued", "could not run: missing " + ", ".join(missing),
            "linear", "")
        return
    tree = _episode_tree()
    figures: list[tuple[int, float, float, str]] = []
    for n in (1_000, 3_000, 10_000):
        scene = xprobe.write_scene(SCRATCH / f"episode-{n}.castline", n)
        with xprobe.RealWindow(scene, latency=1.0, tree=tree) as w:
            time.sleep(1.0)
            idle = w.rss_mb()
            t0 = w.key("ctrl+r")
            queued = _until(lambda: bool(w.requests.poll()), EPISODE_WAIT)
            time.sleep(2.0)  # the queue is full once requests go out; let it settle
            note = "" if queued else f" (no request within {EPISODE_WAIT:.0f} s: queue still filling)"
            figures.append((n, idle, w.rss_mb(), note))
            print(f"    {n:,} lines: {idle:.0f} MB open, {figures[-1][2]:.0f} MB queued "
                  f"{time.monotonic() - t0:.0f} s after Ctrl+R{note}")
    base = figures[0][2] - figures[0][1]
    text = "; ".join(f"{n // 1000}k: {q:.0f} MB ({q - i:+.0f} MB over the open scene){note}"
                     for n, i, q, note in figures)
    grow = [(q - i) / max(base, 0.1) for _n, i, q, _ in figures]
    row("RSS with 1k / 3k / 10k lines queued", text + f"; growth 1 : {grow[1]:.1f} : {grow[2]:.1f} "
        "(lines 1 : 3 : 10)", "linear (≈ 1 : 3 : 10) or flatter",
        ok(grow[2] <= 12) if not any(note for *_, note in figures)
        else "no verdict: the queue never filled")


# --- the dialogue splitter (issue 17) --------------------------------------------------------------

# --- a busy worker thread and the window's turns -------------------------------------------------

CONVOY = """
import hashlib, json, os, sys, threading, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QTableWidget, QTableWidgetItem
app = QApplication([])
sys.setswitchinterval(float(sys.argv[1]))
t = QTableWidget(30, 9)
for r in range(30):
    for c in range(9):
        t.setItem(r, c, QTableWidgetItem("a line of the scene"))
t.resize(900, 600); t.show()
gaps, last = [], [time.perf_counter()]
def beat():
    now = time.perf_counter(); gaps.append(now - last[0]); last[0] = now; t.viewport().update()
heart = QTimer(); heart.setInterval(10); heart.timeout.connect(beat)
others = [QTimer() for _ in range(20)]
for o in others:
    o.setInterval(5); o.timeout.connect(lambda: None); o.start()
stop = threading.Event()
def work():
    while not stop.is_set():
        hashlib.sha256(json.dumps({"a": list(range(50))}, sort_keys=True).encode()).digest()
w = threading.Thread(target=work)
def go():
    w.start(); last[0] = time.perf_counter(); heart.start()
QTimer.singleShot(200, go)
QTimer.singleShot(1700, app.quit)
app.exec(); stop.set(); w.join()
print(max(gaps[2:]))
"""


def bench_convoy() -> None:
    """The window's longest wait for a turn of its event loop while a worker thread computes
    (an episode's plan, the pre-render check), at Python's default switch interval and at the
    app's (editor.ui.app.SWITCH_INTERVAL)."""
    from editor.ui.app import SWITCH_INTERVAL

    def worst(interval: float) -> float:
        out = subprocess.run([sys.executable, "-c", CONVOY, str(interval)], capture_output=True,
                             text=True, check=True).stdout
        return float(out.strip().splitlines()[-1])

    default = median_of(lambda: worst(0.005), 3)
    ours = median_of(lambda: worst(SWITCH_INTERVAL), 3)
    row("a worker thread computing → the window's longest wait for a turn",
        f"{ours * 1000:.0f} ms at {SWITCH_INTERVAL * 1000:g} ms switch interval, "
        f"{default * 1000:.0f} ms at Python's default 5 ms ({default / ours:.1f}×)",
        "≤ 100 ms", ok(ours <= 0.1))


def bench_split() -> None:
    from tests.benchmarks.split_bench import bench

    bench(row, ok)


def main() -> int:
    print(f"Castline benchmarks on {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}", flush=True)
    steps = [("start", bench_start), ("big", None), ("render", bench_render),
             ("playback", bench_playback), ("mix", bench_mix), ("episode", bench_episode),
             ("convoy", bench_convoy), ("queue-memory", bench_queue_memory), ("split", bench_split)]
    only = set(sys.argv[1:]) - {"naive-full"}
    global NAIVE_FULL
    NAIVE_FULL = "naive-full" in sys.argv[1:]
    for name, fn in steps:
        if only and name not in only:
            continue
        try:
            if name == "big":
                scene = bench_big_scene()
                bench_keystroke_and_scroll(scene)
            else:
                assert fn is not None
                fn()
        except Exception as e:
            row(name, f"could not run: {type(e).__name__}: {e}", "", "")
    print("\n| what | figure | target | |\n|---|---|---|---|")
    for r in ROWS:
        print("| " + " | ".join(r) + " |")
    print(f"(peak memory of the benchmark process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
