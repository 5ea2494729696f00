"""The playback room: a line, the scene from here, a take, an A/B pair.

:class:`PlaybackController` owns the play queue over the :class:`Player` facade. A line
without audio is not its business: it asks for a render with :attr:`render_requested`
and plays the line when the render room says it is ready.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from editor.engine.status import LineState
from editor.ui.playback.player import Player
from editor.ui.scene.document import SceneDocument
from editor.ui.scene.table import SceneEditor
from editor.ui.settings import Settings

COMPARE_GAP_MS = 400


class PlaybackController(QObject):
    render_requested = Signal(list, str)  # rows, the line to play when they are rendered
    message = Signal(str, int)

    def __init__(self, document: SceneDocument, editor: SceneEditor, player: Player,
                 settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.editor = editor
        self.player = player
        self.settings = settings
        self._play_queue: list[tuple[str, Path]] = []
        self._compare_queue: list[Path] = []
        self._clip_end: dict[str, str] = {}  # first line of a clip being played -> its last
        player.finished.connect(self._on_player_finished)
        player.set_volume(int(settings.get("player/volume")) / 100)

    @property
    def playing_id(self) -> str | None:
        model = self.document.model
        return model.playing_id if model is not None else None

    def _set_playing(self, line_id: str | None) -> None:
        if self.document.model is not None:
            self.document.model.set_playing(line_id)

    def play_current(self) -> None:
        row = self.editor.current_row()
        if row is None:
            return
        if self.playing_id == self.document.scene.lines[row].id and self.player.playing:
            self.stop()
            return
        self._play_queue = []
        self.play_row(row)

    def play_row(self, row: int) -> None:
        line = self.document.scene.lines[row]
        status = self.document.book.status(line)
        if status.state is LineState.READY and status.path is not None:
            self.play_line(line.id)
        elif status.state in (LineState.QUEUED, LineState.RENDERING):
            self.message.emit("This line is rendering; it plays when ready.", 4000)
        else:
            self.render_requested.emit([row], line.id)

    def play_line(self, line_id: str) -> None:
        doc = self.document
        if not doc.has(line_id):
            return
        status = doc.book.status(doc.scene.line_by_id(line_id))
        if status.path is None:
            return
        if self.player.play(status.path):
            self._set_playing(line_id)

    def play_scene_from_current(self) -> None:
        start = self.editor.current_row() or 0
        queue: list[tuple[str, Path]] = []
        missing = []
        last_path: Path | None = None
        self._clip_end = {}
        for line in self.document.scene.lines[start:]:
            status = self.document.book.status(line)
            if status.state is LineState.READY and status.path is not None:
                if status.path != last_path:  # a take holds several lines: play it once
                    queue.append((line.id, status.path))
                self._clip_end[queue[-1][0]] = line.id  # its pause is the clip's last line's
                last_path = status.path
            elif line.text.strip():
                missing.append(line)
        if missing:
            self.message.emit(f"{len(missing)} line(s) from here are not rendered yet and are "
                              "skipped; render the scene first (Ctrl+R).", 8000)
        if not queue:
            return
        self._play_queue = queue[1:]
        self.play_line(queue[0][0])

    def play_file(self, path: str | Path) -> None:
        """A take or a voice sample, on its own."""
        self._compare_queue = []
        self.player.play(Path(path))

    def compare(self, first: Path, then: Path,
                note: str = "A/B: this take, then the chosen one.") -> None:
        """A/B: ``first``, then ``then`` (two takes, or two voices on the same line)."""
        self._compare_queue = [Path(then)]
        self.player.play(Path(first))
        self.message.emit(note, 6000)

    def _on_player_finished(self, path: str) -> None:
        if self._compare_queue:
            nxt = self._compare_queue.pop(0)
            QTimer.singleShot(COMPARE_GAP_MS, lambda: self.player.play(nxt))
            return
        playing = self.playing_id
        if self._play_queue and playing is not None:
            gap = self.gap_after(self._clip_end.get(playing, playing))
            line_id, _ = self._play_queue.pop(0)
            QTimer.singleShot(gap, lambda: self._continue_scene(line_id))
        else:
            self._set_playing(None)

    def gap_after(self, line_id: str) -> int:
        """The silence after a line: its own pause, else the scene's gap, else the app's."""
        default = int(self.settings.get("render/gap_ms"))
        if not self.document.has(line_id):
            return default
        scene = self.document.scene
        return scene.pause_after(scene.line_by_id(line_id), default)

    def _continue_scene(self, line_id: str) -> None:
        if self.playing_id is None:
            return  # stopped meanwhile
        self.play_line(line_id)
        self.editor.scroll_to_line(line_id)

    def stop(self) -> None:
        self._play_queue = []
        self._compare_queue = []
        self.player.stop()
        self._set_playing(None)

    def set_volume(self, value: int) -> None:
        self.player.set_volume(value / 100)
        self.settings.set("player/volume", value)
