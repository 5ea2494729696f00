"""The document: one open scene and everything that belongs to it.

:class:`SceneDocument` owns the scene, its path, the undo stack, the cost tracker, the
status book, the takes store, the recovery copy and the table model; it opens, saves,
imports and autosaves. It tells the rest of the window what happened through signals
only — above all one coalesced :attr:`changed` after any edit, takes change or render
progress, from which every panel refreshes (Anki's ``operation_did_execute``).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from collections import deque
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.core.planner import PlannedRequest
from editor.core.pricing import CostTracker
from editor.core.scene import Event, LinesChanged, Phase, Scene, SceneError
from editor.engine.cache import AudioCache, default_state_dir
from editor.engine.journal import Journal
from editor.engine.renderplan import Estimate
from editor.engine.status import LineState, LineStatus, StatusBook
from editor.engine.takes import (
    KeyOf,
    Take,
    TakeError,
    TakeStore,
    is_unsaved_takes,
    takes_dir_for,
)
from editor.ui.prompter import AnyPrompter
from editor.ui.recovery import RecoveryFile
from editor.ui.scene import commands as cmd
from editor.ui.scene.model import COL_CREDITS, COL_PAUSE, SceneTableModel
from editor.ui.settings import Settings
from editor.ui.tasks import AsyncRunner

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import asyncio

SAMPLE = "samples/night-ferry.castline"
PIECES_SLICE = 0.008  # seconds of keeping pieces per turn of the event loop
RECOUNT_SLICE = 0.008  # seconds of counting lines again per turn of the event loop
AUTOSAVE_MS = 30_000
FILTER = "Castline scenes (*.castline)"
IMPORT_FILTER = ("Scripts (*.fountain *.spmd *.fdx *.csv *.tsv *.tab *.txt);;Final Draft (*.fdx);;"
                 "Fountain (*.fountain *.spmd);;Spreadsheets (*.csv *.tsv *.tab);;"
                 "Plain text (*.txt);;All files (*)")
IMPORT_BUSY_BYTES = 256 * 1024  # scripts bigger than this show a busy bar while importing


class SceneDocument(QObject):
    changed = Signal()  # coalesced: after edits, takes changes, render progress
    replaced = Signal()  # a new scene (and model): views rebind
    modified_changed = Signal()  # the title's [*]
    message = Signal(str, int)  # status-bar text, milliseconds

    def __init__(self, settings: Settings, runner: AsyncRunner, prompter: AnyPrompter, *,
                 sandbox: bool, cache_root: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.runner = runner
        self.prompter = prompter
        self.sandbox = sandbox
        self.mode = "take" if settings.get("render/mode") == "take" else "lines"
        self._cache_root = cache_root
        self.caches: dict[bool, AudioCache] = {}
        self.journal = Journal(default_state_dir() / "journal.jsonl")
        self.undo = QUndoStack(self)
        self.scene = Scene()
        self.path: Path | None = None
        self.external_dirty = False
        self.recovery = RecoveryFile(None)
        # Until the first scene is set: an empty store (nothing is written until a take arrives).
        self.takes = TakeStore(default_state_dir() / "unsaved" / f"{secrets.token_hex(12)}.takes")
        self.model: SceneTableModel | None = None
        self.import_op: Any = None
        self._seconds: dict[str, float] = {}
        self._changed_timer = QTimer(self, singleShot=True, interval=0)
        self._changed_timer.timeout.connect(self.changed)
        self._recount_timer = QTimer(self, singleShot=True, interval=0)
        self._recount_timer.timeout.connect(self._recount_slice)
        self.autosave = QTimer(self, interval=AUTOSAVE_MS)
        self.autosave.timeout.connect(self._on_autosave_timeout)
        self.autosave.start()
        self.undo.cleanChanged.connect(self.modified_changed)
        self.undo.indexChanged.connect(self.modified_changed)
        self.set_scene(Scene(), None)

    # --- the scene and what belongs to it ---------------------------------------------------

    def cache(self) -> AudioCache:
        if self.sandbox not in self.caches:
            self.caches[self.sandbox] = AudioCache.for_service(self.sandbox, self._cache_root)
        return self.caches[self.sandbox]

    def set_scene(self, scene: Scene, path: Path | None, *, dirty: bool = False,
                  takes: Path | None = None) -> None:
        """Show ``scene`` (from ``path``); ``takes``: an unsaved scene's takes folder to reuse
        (a recovered scene's)."""
        if self.model is not None:
            self.model.detach()
            self.costs.close()
            self.scene.remove_listener(self._on_scene_changed)
            self.book.detach()
        self.undo.clear()
        self._drop_unsaved_takes()
        self.scene, self.path = scene, path
        self.external_dirty = dirty
        self.takes = self._open_takes(path, takes)
        self.costs = CostTracker(scene)
        self.book = StatusBook(scene, self.cache(), self.takes, sandbox=self.sandbox)
        self.model = SceneTableModel(scene, self.costs, self.book, self.commit_cell)
        self.model.mode = self.mode
        self.model.default_gap_ms = int(self.settings.get("render/gap_ms"))
        self.model.seconds_of = self.line_seconds
        scene.add_listener(self._on_scene_changed)
        self.recovery.discard()  # the previous scene's: it was saved or let go by now
        self.recovery = RecoveryFile(path)
        self.recompute()
        self.replaced.emit()
        self.modified_changed.emit()
        self.changed.emit()

    def commit_cell(self, row: int, field: str, value: Any) -> None:
        """An edit typed into the table: one undo step (typing in a cell merges)."""
        self.undo.push(cmd.SetFieldCommand(self.scene, [row], field, [value]))

    @property
    def modified(self) -> bool:
        return self.external_dirty or not self.undo.isClean()

    def title(self) -> str:
        return self.path.name if self.path else "Untitled scene"

    def has(self, line_id: str) -> bool:
        try:
            self.scene.row_of(line_id)
        except SceneError:
            return False
        return True

    def rows_of(self, line_ids: list[str]) -> tuple[int, ...]:
        return tuple(self.scene.row_of(i) for i in line_ids if self.has(i))

    def schedule_changed(self) -> None:
        self._changed_timer.start()

    def set_mode(self, mode: str) -> None:
        """Per line or as dialogue: the Credits column and every estimate follow."""
        self.mode = mode
        self.settings.set("render/mode", mode)
        assert self.model is not None
        self.model.mode = mode
        self.model.refresh_column(COL_CREDITS)
        self.changed.emit()

    def use_service(self, sandbox: bool) -> None:
        """The sandbox and the real service keep apart caches and takes: show the right ones."""
        self.sandbox = sandbox
        if self.book.cache is self.cache() and self.book.sandbox == sandbox:
            return
        self.book.cache = self.cache()
        self.book.sandbox = sandbox
        self.book.forget_cached()
        self.refresh_all()

    def refresh_all(self) -> None:
        """Every line's status afresh (the service changed, a render was cancelled, another
        process added takes)."""
        assert self.model is not None
        self.recompute()
        self.model.refresh_all()
        self.changed.emit()

    def settings_changed(self) -> None:
        assert self.model is not None
        gap = int(self.settings.get("render/gap_ms"))
        self.model.default_gap_ms = gap
        self.model.refresh_column(COL_PAUSE)
        if gap != self._gap_ms:
            self.recompute()  # every rendered line's pause after it
        self.changed.emit()

    def _on_scene_changed(self, event: Event, phase: Phase) -> None:
        if phase != "after":
            return
        if isinstance(event, LinesChanged) and len(event.rows) <= 64:
            self.refresh_rows(event.rows)
        elif isinstance(event, LinesChanged):
            lines = self.scene.lines
            self._recount_later(lines[r].id for r in event.rows if 0 <= r < len(lines))
        else:  # lines added, removed or moved, a voice or the scene's settings changed
            self._forget_removed()
            self._recount_later(line.id for line in self.scene.lines)
        self._changed_timer.start()

    # Lines to count again after a big change, a slice per turn of the event loop: a change
    # of every line of an episode (Select All, then a stability) works out 3,000 statuses,
    # each hashing its request (~0.2 s), and a move or an insert looks at every line again.
    # Until the last slice, the counts are those of the lines not yet reached and the new
    # ones of those done: always a consistent whole.

    def _recount_later(self, ids: Iterable[str]) -> None:
        for line_id in ids:
            if line_id not in self._stale:
                self._stale.add(line_id)
                self._stale_order.append(line_id)
        if self._stale:
            self._recount_timer.start()

    def _recount(self, count: int) -> None:
        """Count the next ``count`` stale lines again."""
        order, stale = self._stale_order, self._stale
        for _ in range(min(count, len(order))):
            line_id = order.popleft()
            stale.discard(line_id)
            if self.has(line_id):
                self._account(line_id, self.scene.row_of(line_id))

    def _recount_slice(self) -> None:
        deadline = time.perf_counter() + RECOUNT_SLICE
        while self._stale_order and time.perf_counter() < deadline:
            self._recount(32)
        if self._stale_order:
            self._recount_timer.start()
        self._changed_timer.start()

    def settle(self) -> None:
        """Finish counting now (before a render reads which lines are ready)."""
        self._recount_timer.stop()
        self._recount(len(self._stale_order))

    def _forget_removed(self) -> None:
        """Lines no longer in the scene leave the counts (O(lines), dictionary lookups)."""
        for line_id in [i for i in self.line_state if not self.has(i)]:
            self._unaccount(line_id)

    # --- per-line state, counted (what the cost panel and the status bar show) ----------------

    def recompute(self) -> None:
        """Per-line status, counted, and the ready lines' requests summed; a full pass
        (after structural changes)."""
        self._ready_cost: dict[str, Fraction] = {}
        self.ready = Estimate()
        self.state_counts = dict.fromkeys(LineState, 0)
        self.line_state: dict[str, LineState] = {}
        # Each rendered line's milliseconds as played (its audio and the pause after it), and
        # their sum: the running time is read after every change, never by a pass over the
        # scene (20 ms at 3,000 lines, many times a second during a render).
        self._line_ms: dict[str, int] = {}
        self._rendered_ms = 0
        self._gap_ms = int(self.settings.get("render/gap_ms"))
        self._stale: set[str] = set()  # a full pass supersedes the lines left to count
        self._stale_order: deque[str] = deque()
        for row, line in enumerate(self.scene.lines):
            self._account(line.id, row)

    def _unaccount(self, line_id: str) -> None:
        """The line's share of every count taken out (it is counted again, or gone)."""
        old = self.line_state.pop(line_id, None)
        if old is not None:
            self.state_counts[old] -= 1
        cost = self._ready_cost.pop(line_id, None)
        if cost is not None:
            self.ready = self.ready - Estimate.of_costs([cost])
        self._rendered_ms -= self._line_ms.pop(line_id, 0)

    def _account(self, line_id: str, row: int) -> None:
        self._unaccount(line_id)
        line = self.scene.lines[row]
        status = self.book.status(line)
        state = status.state
        self.line_state[line_id] = state
        self.state_counts[state] += 1
        cost = self.costs.line_cost(row)
        if state is LineState.READY and cost:
            self._ready_cost[line_id] = cost
            self.ready = self.ready + Estimate.of_costs([cost])
        seconds = self._seconds_of(status)
        if seconds is not None:
            ms = round(seconds * 1000) + self.scene.pause_after(line, self._gap_ms)
            self._line_ms[line_id] = ms
            self._rendered_ms += ms

    def refresh_rows(self, rows: tuple[int, ...]) -> None:
        """Incremental upkeep after an edit of a few lines: O(edited lines), not O(scene)."""
        for row in rows:
            if 0 <= row < len(self.scene):
                self._account(self.scene.lines[row].id, row)

    def lines_changed(self, line_ids: list[str]) -> None:
        """Takes or render progress changed these lines: their rows and counts follow."""
        assert self.model is not None
        self.model.refresh_ids(line_ids)
        self.refresh_rows(self.rows_of(line_ids))
        self._changed_timer.start()

    def summary(self) -> str:
        return (f"{len(self.scene)} lines · {self.state_counts[LineState.READY]} ready · "
                f"{self.costs.characters:,} characters")

    # --- takes --------------------------------------------------------------------------------

    def _open_takes(self, path: Path | None, unsaved: Path | None = None) -> TakeStore:
        """The scene's takes beside it; an unsaved scene's in a folder of its own until saved."""
        staging = default_state_dir() / "unsaved"
        if path is None and unsaved is not None and is_unsaved_takes(unsaved, staging):
            try:
                return TakeStore(unsaved)
            except TakeError:
                pass
        if path is not None:
            try:
                store = TakeStore(takes_dir_for(path))
                store.purge_deleted()  # undo cannot reach them any more
                notes = []
                if store.damaged_records:
                    notes.append(
                        f"{store.damaged_records} damaged record(s) in {store.index_path.name} were "
                        "skipped (an interrupted write); every complete take is there.")
                if store.warnings:  # the gate's: records naming files outside, odd ids, links
                    notes.append(f"{len(store.warnings)} unsafe record(s) ignored, nothing outside "
                                 f"the takes folder was touched. {store.warnings[0]}")
                if notes:
                    self.message.emit(" ".join(notes), 15000)
                return store
            except TakeError as e:
                self.prompter.tell("Takes unavailable", f"{e} The scene opens without them; "
                                   "rendered audio is still found in the cache.")
        return TakeStore(staging / f"{secrets.token_hex(12)}.takes")

    def _drop_unsaved_takes(self) -> None:
        """Leaving an unsaved scene: its takes folder goes (its audio stays in the cache)."""
        if self.path is None:
            self.forget_unsaved_takes(self.takes.root)

    @staticmethod
    def forget_unsaved_takes(root: Path) -> None:
        if is_unsaved_takes(root, default_state_dir() / "unsaved"):
            shutil.rmtree(root, ignore_errors=True)

    def line_seconds(self, row: int) -> float | None:
        """How long the line's chosen audio runs (None: not rendered, changed since, or spoken
        inside a dialogue take not yet cut into lines)."""
        return self._seconds_of(self.book.status(self.scene.lines[row]))

    def _seconds_of(self, status: LineStatus) -> float | None:
        if status.state is not LineState.READY:
            return None
        if status.take is not None:
            return None if status.take.is_group else self.take_seconds(status.take)
        if status.path is not None:
            return self._file_seconds(status.path)
        return None

    def running_time(self, rows: list[int] | None = None) -> tuple[float, int, int]:
        """(seconds, rendered lines, lines) of the scene or of ``rows``: each rendered line's
        audio and the pause after it, as played and exported. Kept up to date line by line
        (:meth:`_account`): O(1) for the scene, O(rows) for a selection."""
        lines = self.scene.lines
        if rows is None:
            return self._rendered_ms / 1000, len(self._line_ms), len(lines)
        total, rendered, count = 0, 0, 0
        for row in rows:
            if not 0 <= row < len(lines):
                continue
            count += 1
            ms = self._line_ms.get(lines[row].id)
            if ms is not None:
                rendered += 1
                total += ms
        return total / 1000, rendered, count

    def _file_seconds(self, path: Path) -> float | None:
        key = f"file:{path}"
        seconds = self._seconds.get(key)
        if seconds is None:
            import soundfile

            try:
                seconds = float(soundfile.info(str(path)).duration)
            except (RuntimeError, OSError):
                return None
            self._seconds[key] = seconds
        return seconds

    def take_seconds(self, take: Take) -> float | None:
        seconds = self._seconds.get(take.id)
        if seconds is None:
            import soundfile

            path = self.takes.path(take)  # None: not a safe file of the takes folder
            try:
                if path is None:
                    return None
                seconds = float(soundfile.info(str(path)).duration)
            except (RuntimeError, OSError):
                return None
            self._seconds[take.id] = seconds
        return seconds

    def keep_take(self, request: PlannedRequest, path: Path, *, asked: bool) -> None:
        """A render's take becomes a line's choice only where no chosen take speaks it now;
        a take the writer asked for (``asked``: "New take") becomes the choice at once."""
        from editor.engine.project import keep_take

        key_of = None if asked else self.book.key_of
        try:
            take = keep_take(self.takes, request, path, sandbox=self.sandbox, key_of=key_of,
                             cut=False)
        except TakeError as e:
            self.message.emit(str(e), 15000)
            return
        if take.is_group:
            self._cut_group(request, take, path, key_of)

    def _cut_group(self, request: PlannedRequest, group: Take, audio: Path,
                   key_of: KeyOf | None) -> None:
        """Cut a dialogue take into per-line takes on a worker thread (decoding and aligning
        take a fraction of a second per group); the pieces are kept back on this thread."""
        import tempfile

        from editor.engine.grouptakes import cut_group, keep_pieces
        from editor.engine.project import activation

        store, sandbox = self.takes, self.sandbox
        folder = Path(tempfile.mkdtemp(prefix="castline-pieces-"))

        def keep(pieces: list[Any]) -> None:
            # A piece at a time inside a short slice, the event loop turning between slices:
            # keeping a take copies its audio and writes the index durably (~5 ms each), and a
            # dialogue request of an episode brings twenty or more.
            todo = list(pieces)

            def slice_() -> None:
                try:
                    if store is not self.takes:  # another scene meanwhile: keep nothing
                        todo.clear()
                    active = activation(store, sandbox, key_of)
                    deadline = time.perf_counter() + PIECES_SLICE
                    while todo and time.perf_counter() < deadline:
                        # The group take spoke these lines until now: its pieces take over.
                        keep_pieces(store, request, group, [todo.pop(0)], sandbox=sandbox,
                                    activate=lambda i: active(i) or store.active_id(i) == group.id)
                except TakeError as e:
                    todo.clear()
                    self.message.emit(str(e), 15000)
                if todo:
                    QTimer.singleShot(0, slice_)
                    return
                shutil.rmtree(folder, ignore_errors=True)
                if store is self.takes:
                    # Only the request's lines changed: an episode's other 3,000 are not
                    # looked at again (refresh_all took ~50 ms per dialogue request).
                    self.lines_changed([i for i in request.line_ids if self.has(i)])

            slice_()

        def failed(error: BaseException) -> None:
            shutil.rmtree(folder, ignore_errors=True)
            log.warning("could not cut the dialogue of lines %s: %s", request.line_ids, error)

        self.runner.run(lambda: cut_group(audio, request, folder), "Cut a dialogue into lines"
                        ).success(keep).failure(failed).start()

    def refresh_takes(self) -> None:
        """Takes another process (the command line) added meanwhile."""
        try:
            changed = self.takes.refresh()
        except TakeError:
            return
        if changed:
            self.refresh_all()

    # --- files ----------------------------------------------------------------------------------

    def last_dir(self) -> Path:
        """Where file dialogs start: the scene's folder, else Documents."""
        from editor.ui.prompter import documents_folder

        return self.path.parent if self.path else documents_folder()

    def confirm_discard(self) -> bool:
        if not self.modified:
            return True
        answer = self.prompter.ask_now(
            "Unsaved changes", f"Save the changes to {self.path.name if self.path else 'this scene'}?",
            ["Save", "Discard", "Cancel"], default="Save")
        if answer == "Save":
            return self.save()
        return answer == "Discard"

    def new_scene(self) -> None:
        if self.confirm_discard():
            self.recovery.discard()
            self.set_scene(Scene(), None)

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path = self.prompter.open_file_now("Open scene", self.last_dir(), FILTER)
        if path is not None:
            self.open_path(path)

    def open_path(self, path: Path) -> bool:
        try:
            scene = sceneio.load(path)
        except sceneio.SceneFileError as e:
            self.prompter.tell("Cannot open the scene", str(e))
            return False
        self.recovery.discard()
        self.set_scene(scene, path)
        self.settings.add_recent(str(path.resolve()))
        return True

    def open_recent(self, path: Path) -> None:
        if self.confirm_discard():
            self.open_path(path)

    def open_sample(self) -> None:
        self.set_scene(sceneio.loads(read_resource_text(SAMPLE), "night-ferry.castline"), None)

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    def save_as(self) -> bool:
        suggested = self.path or self.last_dir() / f"{self.scene.title or 'Scene'}.castline"
        path = self.prompter.save_file_now("Save scene", suggested, FILTER)
        if path is None:
            return False
        if path.suffix != ".castline":
            path = path.with_suffix(".castline")
        return self.save_to(path)

    def save_to(self, path: Path) -> bool:
        try:
            sceneio.save(self.scene, path)
        except OSError as e:
            self.prompter.tell("Could not save", f"{path}: {e.strerror or e}. The previous file "
                               "is unchanged and your edits are still here; free some space or "
                               "choose another folder.", "error")
            return False
        if self.path != path:
            self.recovery.discard()
            self.recovery = RecoveryFile(path)
            self._move_takes(path)
        self.path = path
        self.undo.setClean()
        self.external_dirty = False
        self.recovery.discard()
        self.settings.add_recent(str(path.resolve()))
        self.modified_changed.emit()
        self.message.emit(f"Saved {path.name}", 4000)
        return True

    def _move_takes(self, path: Path) -> None:
        """Saved under a new name: the takes go with the scene (copied beside it)."""
        old = self.takes
        target = takes_dir_for(path)
        if old.root == target:
            return
        try:
            new = TakeStore(target)
            if len(old):
                new.merge_from(old)
        except TakeError as e:
            self.prompter.tell("Takes not copied", f"The scene was saved, but its takes could "
                               f"not be copied beside it: {e}")
            return
        if self.path is None:
            self.forget_unsaved_takes(old.root)
        self.takes = self.book.takes = new
        self.book.forget_cached()
        self.changed.emit()

    def revert(self) -> None:
        if self.path and (not self.modified or self.prompter.ask_now(
                "Revert", "Discard all changes since the last save?", ["Revert", "Cancel"],
                default="Cancel") == "Revert"):
            self.open_path(self.path)

    def import_dialog(self) -> None:
        """File → Import: pick a script, see what will come in (the preview dialog), import."""
        if not self.confirm_discard():
            return
        path = self.prompter.open_file_now("Import script", self.last_dir(), IMPORT_FILTER)
        if path is None:
            return
        self.prompter.import_preview(path, self.last_dir(), self.runner,
                                     lambda choice: self._on_import_chosen(path, choice))

    def _on_import_chosen(self, path: Path, choice: Any) -> None:
        """``choice``: the preview's :class:`ImportChoice` (None: no preview was shown, the
        defaults apply and warnings are told afterwards)."""
        if choice is None:
            self.import_path(path)
        else:
            self.import_path(path, choice.options, split_to=choice.split_folder)

    @property
    def importing(self) -> bool:
        return self.import_op is not None and self.import_op.running

    def import_path(self, path: Path, options: Any = None, *,
                    split_to: Path | None = None) -> asyncio.Task[Any] | None:
        """Import ``path`` in a worker thread, so a big script never freezes the window (a
        busy bar shows for big files); the scene is replaced when it is done. Returns the
        task (None if an import is already running).

        ``options`` (:class:`editor.core.importers.ImportOptions`): what the preview showed;
        the writer saw its warnings there, so they go to the status bar only. With
        ``split_to`` (and ``options.scenes == "split"``) every scene is written to its own
        file there (``name-01.castline`` …, never over an existing file) and the first opens."""
        from editor.core.importers import ImportError_, import_file, import_script

        if self.importing:
            self.message.emit("An import is already running.", 4000)
            return None
        try:
            big = path.stat().st_size > IMPORT_BUSY_BYTES
        except OSError:
            big = False
        if big:
            self.message.emit(f"Importing {path.name}…", 0)
        edits_before = self.undo.index()
        warnings: list[str] = []
        previewed = options is not None

        def work() -> tuple[list[Scene], list[Path]]:
            if options is None:
                return [import_file(path, warnings)], []
            if options.scenes != "split" or split_to is None:
                return [import_file(path, warnings, options)], []
            result = import_script(path, options, warnings)
            if len(result.scenes) == 1:
                return result.scenes, []
            from editor.ui.scene.importdialog import split_targets

            targets = split_targets(path, split_to, len(result.scenes))
            existing = [t for t in targets if t.exists()]
            if existing:
                raise ImportError_(f"{existing[0]} already exists ({len(existing)} of the "
                                   f"{len(targets)} scene files do); nothing was written.")
            split_to.mkdir(parents=True, exist_ok=True)
            for scene, target in zip(result.scenes, targets, strict=True):
                sceneio.save(scene, target)
            return result.scenes, targets

        def done(made: tuple[list[Scene], list[Path]]) -> None:
            scenes, files = made
            # Edits made while it ran would be lost: ask again (the first ask was before).
            if self.undo.index() != edits_before and not self.confirm_discard():
                return
            scene = scenes[0]
            if files:
                self.recovery.discard()
                self.set_scene(scene, files[0])
                self.settings.add_recent(str(files[0].resolve()))
            else:
                self.set_scene(scene, None, dirty=True)
            note = f" ({len(warnings)} warning(s): {warnings[0]})" if warnings else ""
            where = (f"; {len(files)} scene files written to {files[0].parent}, the first is open"
                     if files else "")
            count = sum(len(s) for s in scenes)
            self.message.emit(f"Imported {count} lines from {path.name}{where}{note}",
                              10000 if note or files else 6000)
            if warnings and not previewed:
                self.prompter.tell("Imported, with warnings", "\n".join(warnings[:20]))

        def failed(e: BaseException) -> None:
            if isinstance(e, ImportError_):
                self.prompter.tell("Cannot import", str(e))
            elif isinstance(e, OSError):
                self.prompter.tell("Cannot import", f"{path}: {e.strerror or e}.")
            else:
                raise e  # a bug: the crash handler reports it

        self.import_op = self.runner.run(work, f"Import {path.name}")
        self.import_op.busy(big).success(done).failure(failed).start()
        self.changed.emit()  # Import is disabled while it runs
        return self.import_op.task

    def _on_autosave_timeout(self) -> None:
        if self.modified:
            self.save_recovery()

    def save_recovery(self) -> None:
        try:
            unsaved = self.takes.root if self.path is None else None
            self.recovery.save(self.scene, unsaved)
        except OSError as e:
            self.message.emit(f"Autosave failed: {e.strerror or e}", 8000)

    async def save_recovery_in_background(self) -> None:
        """The same, with the writing (and the JSON of an episode: ~30 ms at 3,000 lines) on
        a worker thread, over a snapshot of the scene as it is now."""
        import asyncio

        snapshot = self.scene.snapshot()
        unsaved = self.takes.root if self.path is None else None
        try:
            await asyncio.to_thread(self.recovery.save, snapshot, unsaved)
        except OSError as e:
            self.message.emit(f"Autosave failed: {e.strerror or e}", 8000)

    def close(self) -> None:
        """The writer let the scene go (saved or not): its recovery copy and an unsaved
        scene's takes folder go too."""
        self.recovery.discard()
        self._drop_unsaved_takes()

    # --- scene-wide edits ----------------------------------------------------------------------

    def apply_scene_settings(self, changes: dict[str, Any]) -> None:
        if not changes:
            return
        self.undo.beginMacro("Scene settings")
        for name, value in changes.items():
            if name == "pronunciations":
                self.undo.push(cmd.PronunciationsCommand(self.scene, value))
            else:
                self.undo.push(cmd.SceneSettingCommand(self.scene, name, value, f"Set {name}"))
        self.undo.endMacro()
        changed = self.state_counts.get(LineState.CHANGED, 0)
        if "pronunciations" in changes and changed:
            self.message.emit(f"{changed} line(s) now say something different from their take; "
                              "render them to hear it.", 8000)
