"""``castline --self-test``: checks a built package end to end, offscreen.

Opens the sample scene, renders one line through the in-process sandbox, plays it to
the audio output. Nothing of the user's is touched: settings, cache and state go to a
temporary folder.

Exit status: 0 every step worked; 1 a step failed (the reason is printed); 3 there is no
audio output on this computer, so playback was skipped and everything else passed (a
machine without a sound device still shows that the install is whole).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

EXIT_PASSED, EXIT_FAILED, EXIT_NO_SOUND_DEVICE = 0, 1, 3
NO_SOUND_DEVICE = "no sound device: playback skipped, everything else passed"


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="castline-self-test-"))
    os.environ["CASTLINE_CACHE_DIR"] = str(scratch / "cache")
    os.environ["CASTLINE_STATE_DIR"] = str(scratch / "state")

    import qasync
    from PySide6.QtCore import QSettings
    from PySide6.QtMultimedia import QMediaPlayer
    from PySide6.QtWidgets import QApplication

    from editor import __version__
    from editor.ui.mainwindow import MainWindow
    from editor.ui.settings import Settings

    def step(message: str) -> None:
        print(f"self-test: {message}", flush=True)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    settings = Settings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, sandbox=True)
    window.confirm_discard = lambda: True  # type: ignore[method-assign]

    no_sound_device = False

    async def check() -> str | None:
        nonlocal no_sound_device
        step(f"Castline {__version__}, Python {sys.version.split()[0]}")
        window.open_sample()
        window.show()
        if len(window.scene) < 8:
            return "the sample scene did not open"
        step(f"opened the sample scene ({len(window.scene)} lines)")
        task = window.start_render([0])
        if task is None:
            return "the render did not start"
        outcome = await task
        if outcome is None or not outcome.ok:
            return f"the render failed: {outcome.errors if outcome else 'nothing rendered'}"
        status = window.book.status(window.scene.lines[0])
        step(f"rendered line 1 through the sandbox ({status.path.name if status.path else '?'})")
        if not window.player.available:
            no_sound_device = True
            return None
        window.select_rows([0])
        window.play_current()
        player = window.player.media_player
        deadline = time.monotonic() + 10
        while player is None or player.playbackState() != QMediaPlayer.PlaybackState.PlayingState:
            if time.monotonic() > deadline:
                return "playback did not start"
            await asyncio.sleep(0.05)
            player = window.player.media_player
        # Audio really flowed: the device took some of the line, not only a state change.
        while window.player.processed_usecs <= 0:
            if time.monotonic() > deadline:
                return "playback started but no audio reached the output"
            await asyncio.sleep(0.05)
        step(f"playing to the audio output ({window.player.processed_usecs // 1000} ms so far)")
        window.stop_playback()
        return None

    async def main() -> str | None:
        try:
            return await asyncio.wait_for(check(), 60)
        except Exception as e:
            return f"{type(e).__name__}: {e}"
        finally:
            await window.shutdown()

    with loop:
        problem = loop.run_until_complete(main())
    window.close()
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)
    if problem:
        print(f"self-test: FAILED: {problem}", file=sys.stderr)
        return EXIT_FAILED
    if no_sound_device:
        step(NO_SOUND_DEVICE)
        return EXIT_NO_SOUND_DEVICE
    step("passed")
    return EXIT_PASSED
