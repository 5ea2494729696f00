"""The takes room: the current line's takes, chosen, deleted, heard, compared; a
dialogue's cuts moved by hand; one line rendered again in context.

:class:`TakesController` fills the Takes panel from the document and turns its buttons
into undo commands; hearing a take, comparing two or asking for a new one leave as
signals for the playback and render rooms.

When the line's chosen take is a piece of a dialogue (a *group* take), the panel's cut
editor shows the group's waveform (its envelope read once, on a worker thread), every cut
(uncertain ones marked) and the line's span. Dropping a cut re-cuts the two lines beside
it from the group's clip on a worker thread (:func:`editor.engine.grouptakes.recut_pieces`);
the new pieces are kept as new takes and chosen by one :class:`RecutCommand` on the undo
stack, which switches the choices back and forth (the old pieces stay). "Hear both sides"
plays about 1.5 s on each side of a cut, with a short silence where it falls.

"New take in context" sends the line with its neighbours as one short dialogue through the
render room's session and engine factory (:meth:`use_render`), after showing its price in
paid mode, and keeps only that line's piece (chosen undoably) and the group take (chosen
by no line).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand

from editor.core.scene import Line
from editor.engine.takes import Take, TakeStore
from editor.ui.scene import commands as cmd
from editor.ui.scene.document import SceneDocument
from editor.ui.scene.table import SceneEditor
from editor.ui.takes.panel import CutView, TakesPanel
from editor.ui.takes.waveform import CutMark, Envelope, envelope
from editor.ui.tasks import Op

HEAR_SECONDS = 1.5  # on either side of a cut
HEAR_GAP_SECONDS = 0.25  # the silence where the cut falls


class RenderAccess(Protocol):
    """What the takes room needs of the render room for a render in context: where requests
    go now and the open service session (never a second one)."""

    @property
    def sandbox(self) -> bool: ...

    async def ensure_service(self) -> Any: ...


class RecutCommand(QUndoCommand):
    """A cut moved by hand: the lines beside it speak their new pieces; undo, their old ones
    (every piece stays in the takes index, so both ways are only a choice)."""

    def __init__(self, store: TakeStore, changes: list[tuple[str, str, str]],
                 changed: Any, label: str = "Move cut") -> None:
        super().__init__(label)
        self.store = store
        self.changes = list(changes)  # line id, old take, new take
        self.changed = changed

    def redo(self) -> None:
        for line_id, _old, new in self.changes:
            self.store.set_active(line_id, new)
        self.changed([c[0] for c in self.changes])

    def undo(self) -> None:
        for line_id, old, _new in self.changes:
            self.store.set_active(line_id, old)
        self.changed([c[0] for c in self.changes])


def write_both_sides(audio: Path, at: float, out: Path) -> Path:
    """About :data:`HEAR_SECONDS` of the clip before ``at``, a short silence, then as much
    after it, each side faded at the cut as its piece is: what each line keeps there."""
    import numpy as np
    import soundfile

    from editor.engine.audio import decode
    from editor.engine.grouptakes import FADE_SECONDS

    clip = decode(audio)
    cut = round(at * clip.rate)
    span = round(HEAR_SECONDS * clip.rate)
    before = np.array(clip.data[max(0, cut - span):cut], dtype=np.float32)
    after = np.array(clip.data[cut:cut + span], dtype=np.float32)
    fade = round(FADE_SECONDS * clip.rate)
    if len(before) >= fade > 0:
        before[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    if len(after) >= fade > 0:
        after[:fade] *= np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
    gap = np.zeros((round(HEAR_GAP_SECONDS * clip.rate), clip.data.shape[1]), np.float32)
    soundfile.write(str(out), np.concatenate([before, gap, after]), clip.rate, subtype="PCM_16")
    return out


class TakesController(QObject):
    play_requested = Signal(str)  # a take's file
    compare_requested = Signal(object, object)  # Path, Path: this take, then the chosen one
    new_take_requested = Signal()
    message = Signal(str, int)
    context_take_done = Signal(str)  # the new piece take's id

    def __init__(self, document: SceneDocument, editor: SceneEditor, panel: TakesPanel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.editor = editor
        self.panel = panel
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.refresh)
        panel.play_requested.connect(self._on_panel_play_requested)
        panel.compare_requested.connect(self._on_panel_compare_requested)
        panel.choose_requested.connect(self.choose_take)
        panel.delete_requested.connect(self.delete_take)
        panel.regenerate_requested.connect(self.new_take_requested)
        panel.lock_requested.connect(editor.set_locked)
        panel.cut_moved.connect(self.move_cut)
        panel.hear_cut_requested.connect(self.hear_cut)
        panel.context_requested.connect(self.new_take_in_context)
        self.render: RenderAccess | None = None
        self._envelopes: dict[str, Envelope] = {}  # group take id -> its clip's envelope
        self._reading: set[str] = set()
        self._cut_index: list[int] = []  # the cut editor's cut -> the group's cut
        self.op: Op | None = None  # the last cut moved or context render
        self._temp: Path | None = None

    def use_render(self, render: RenderAccess) -> None:
        """The render room whose session and engine factory a render in context uses."""
        self.render = render

    def _temp_dir(self) -> Path:
        if self._temp is None:
            self._temp = Path(tempfile.mkdtemp(prefix="castline-cuts-"))
            weakref.finalize(self, shutil.rmtree, str(self._temp), True)
        return self._temp

    def schedule(self) -> None:
        self._timer.start()

    def refresh(self) -> None:
        doc = self.document
        row = self.editor.current_row()
        if row is None or row >= len(doc.scene):
            self.panel.show_line(None, None, [], None, lambda _t: False, lambda _t: None)
            return
        line = doc.scene.lines[row]
        store, key_of = doc.takes, doc.book.key_of
        # A render in context of a neighbour is that neighbour's, not this line's take.
        takes = [t for t in doc.book.takes_of(line)
                 if not (t.is_group and t.extra.get("context_for") not in (None, line.id))]
        chosen = doc.book.take(line)
        self.panel.show_line(row, line, takes, chosen, lambda t: store.usable(t, key_of),
                             doc.take_seconds)
        self.panel.show_cuts(self._cut_view(line, chosen))

    # --- the cut editor ------------------------------------------------------------------

    def shown_group(self) -> Take | None:
        view = self.panel.cut_view
        return self.document.takes.get(view.group) if view is not None else None

    def _cut_view(self, line: Line, chosen: Take | None) -> CutView | None:
        doc, store = self.document, self.document.takes
        if chosen is None or chosen.group is None or chosen.span is None:
            return None
        # Only a line cut from a dialogue loads the cutting code (and numpy): not at start-up.
        from editor.engine.grouptakes import group_cuts, group_pieces

        group = store.get(chosen.group)
        if group is None or line.id not in group.lines or store.path(group) is None:
            return None
        seconds = doc.take_seconds(group)
        if not seconds:
            return None
        pieces = group_pieces(store, group)
        cuts = group_cuts(pieces)
        self._cut_index = [c.index for c in cuts]
        labels = []
        for line_id in group.line_ids:
            if doc.has(line_id):
                ln = doc.scene.line_by_id(line_id)
                labels.append(f"{doc.scene.row_of(line_id) + 1} {ln.speaker or ''}".strip())
            else:
                labels.append("(deleted line)")
        rows = [doc.scene.row_of(i) + 1 for i in group.line_ids if doc.has(i)]
        where = f"lines {min(rows)}–{max(rows)}" if rows else "deleted lines"
        context = " rendered in context for this line" if group.extra.get("context_for") else ""
        title = (f"<b>Cut from a dialogue of {len(group.lines)} lines</b> ({where}){context}. "
                 "Drag a cut to move it; the lines beside it follow.")
        env = self._envelopes.get(group.id)
        if env is None:
            self._read_envelope(group)
        return CutView(group.id, title, seconds,
                       [CutMark(c.at, c.uncertain, c.hand, c.confidence) for c in cuts],
                       labels, chosen.span, group.line_ids.index(line.id), env)

    def _read_envelope(self, group: Take) -> None:
        path = self.document.takes.path(group)
        if path is None or group.id in self._reading:
            return
        self._reading.add(group.id)

        def done(env: Envelope) -> None:
            self._reading.discard(group.id)
            self._envelopes[group.id] = env
            self.schedule()

        def failed(error: BaseException) -> None:
            self._reading.discard(group.id)
            self.message.emit(f"Cannot read the dialogue's audio: {error}", 8000)

        self.document.runner.run(lambda: envelope(path), "Read a dialogue's waveform"
                                 ).success(done).failure(failed).start()

    def move_cut(self, index: int, at: float) -> Op | None:
        """Move cut ``index`` of the shown group to ``at`` seconds: the lines beside it are cut
        again from the group's clip (worker thread), kept as new takes and chosen by one
        undoable :class:`RecutCommand`. Returns the operation (None: nothing shown)."""
        from editor.engine.grouptakes import group_pieces, keep_recut, recut_pieces

        doc = self.document
        store, group = doc.takes, self.shown_group()
        if group is None or not 0 <= index < len(self._cut_index):
            return None
        path = store.path(group)
        if path is None:
            return None
        cut = self._cut_index[index]
        pieces = group_pieces(store, group)
        folder = Path(tempfile.mkdtemp(prefix="recut-", dir=self._temp_dir()))

        def keep(new: list[Any]) -> None:
            try:
                if store is not doc.takes:
                    return
                done = keep_recut(store, group, pieces, new, activate=False)
                if done.chosen:
                    doc.undo.push(RecutCommand(store, done.chosen, doc.lines_changed))
                else:
                    doc.lines_changed([c[0] for c in done.changes])
                self.message.emit(f"Cut moved to {new[0].end if new else at:.2f} s; Undo puts "
                                  "it back.", 5000)
                self.schedule()
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        def failed(error: BaseException) -> None:
            shutil.rmtree(folder, ignore_errors=True)
            self.message.emit(f"Could not move the cut: {error}", 10000)
            self.schedule()

        self.op = doc.runner.run(lambda: recut_pieces(path, group, pieces, cut, at, folder),
                                 "Move a cut").success(keep).failure(failed).start()
        return self.op

    def hear_cut(self, index: int) -> Op | None:
        """About 1.5 s before cut ``index`` and 1.5 s after it, through the playback room."""
        view, group = self.panel.cut_view, self.shown_group()
        if view is None or group is None or not 0 <= index < len(view.cuts):
            return None
        path = self.document.takes.path(group)
        if path is None:
            return None
        at = view.cuts[index].at
        out = self._temp_dir() / f"cut-{group.id}-{index}.wav"
        return self.document.runner.run(lambda: write_both_sides(path, at, out),
                                        "Hear both sides of a cut").success(
            lambda p: self.play_requested.emit(str(p))).failure(
            lambda e: self.message.emit(f"Cannot play the cut: {e}", 8000)).start()

    # --- one line again, in context ----------------------------------------------------------

    def new_take_in_context(self) -> Op | None:
        """Render the current line again with its neighbours as one short dialogue and keep
        only its part (a new take, chosen; Undo goes back to the previous choice)."""
        from editor.engine.grouptakes import context_request

        doc = self.document
        row = self.editor.current_row()
        if row is None or row >= len(doc.scene):
            return None
        line = doc.scene.lines[row]
        if line.locked:
            self.message.emit(f"Line {row + 1} is locked; unlock it (Ctrl+L) to render a new "
                              "take.", 6000)
            return None
        if not doc.scene.spoken(line).strip():
            return None
        if self.render is None:
            self.message.emit("Rendering is not available here.", 5000)
            return None
        if self.op is not None and self.op.running:
            self.message.emit("Wait for the cut or render in progress to finish.", 5000)
            return None
        built = context_request(doc.scene, row)
        if built is None:
            self.message.emit(f"Line {row + 1} has no neighbour to render it with (the lines "
                              "beside it are locked, silent or of another stability or "
                              "language); use New take (Ctrl+Alt+R).", 8000)
            return None
        request, _where = built
        self.op = doc.runner.run(self._render_in_context(row, line.id, request),
                                 "New take in context").busy()
        self.op.failure(lambda e: doc.prompter.tell("New take in context failed", str(e)))
        self.op.start()
        return self.op

    async def _render_in_context(self, row: int, line_id: str, request: Any) -> Take | None:
        from editor.core.pricing import format_credits
        from editor.engine.grouptakes import cut_group, keep_context
        from editor.engine.project import render_engine

        doc, render = self.document, self.render
        assert render is not None
        n = len(request.line_ids)
        if not render.sandbox:
            answer = await doc.prompter.ask(
                "New take in context",
                f"{format_credits(request.cost)} for 1 request of {n} lines; only line "
                f"{row + 1}'s part is kept (the others are sent for context only). Render?",
                ["Render", "Cancel"], default="Render")
            if answer != "Render":
                return None
        session = await render.ensure_service()
        store, sandbox = doc.takes, doc.sandbox
        self.message.emit(f"Rendering line {row + 1} with its neighbours…", 0)
        engine = render_engine(session.client, doc.cache(), journal=doc.journal, jobs=1)
        outcome = await engine.run([request], fresh={request.key})
        if not outcome.ok:
            raise next(iter(outcome.errors.values()))
        path = outcome.paths[request.key]
        folder = Path(tempfile.mkdtemp(prefix="context-", dir=self._temp_dir()))
        try:
            pieces = await asyncio.to_thread(cut_group, path, request, folder)
            if store is not doc.takes or not doc.has(line_id):
                return None
            _group, piece = keep_context(store, request, path, pieces, line_id,
                                         sandbox=sandbox)
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
        doc.undo.push(cmd.ChooseTakeCommand(store, [line_id], piece.id, doc.lines_changed,
                                            "New take in context"))
        self.message.emit(f"New take of line {doc.scene.row_of(line_id) + 1}, read in context "
                          f"with {n - 1} neighbour(s); only its part is kept.", 6000)
        self.context_take_done.emit(piece.id)
        self.schedule()
        return piece

    def choose_take(self, take_id: str) -> None:
        doc = self.document
        if (take := doc.takes.get(take_id)) is None:
            return
        row = self.editor.current_row()
        line_ids = take.line_ids if len(take.lines) > 1 or row is None else \
            [doc.scene.lines[row].id]
        doc.undo.push(cmd.ChooseTakeCommand(doc.takes, line_ids, take_id, doc.lines_changed))

    def delete_take(self, take_id: str) -> None:
        doc = self.document
        if doc.takes.get(take_id) is not None:
            doc.undo.push(cmd.DeleteTakeCommand(doc.takes, take_id, doc.lines_changed))

    def _on_panel_play_requested(self, take_id: str) -> None:
        take = self.document.takes.get(take_id)
        path = self.document.takes.path(take) if take is not None else None
        if path is not None:
            self.play_requested.emit(str(path))

    def _on_panel_compare_requested(self, take_id: str) -> None:
        """A/B: this take, then the chosen one."""
        doc = self.document
        row = self.editor.current_row()
        if row is None:
            return
        take, chosen = doc.takes.get(take_id), doc.book.take(doc.scene.lines[row])
        if take is None or chosen is None:
            return
        first, then = doc.takes.path(take), doc.takes.path(chosen)
        if first is not None and then is not None:
            self.compare_requested.emit(first, then)
