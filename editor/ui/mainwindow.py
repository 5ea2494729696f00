"""The editor window: the scene table, cast, cost, render queue and takes docks, menus
and toolbar; render, play, takes, export, files, autosave and recovery."""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QEvent, QItemSelectionModel, QModelIndex, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSlider,
    QStackedWidget,
    QTableView,
    QToolBar,
    QWidget,
)

from editor import __version__
from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.core.planner import PlanError, PlannedRequest, build_request, plan
from editor.core.pricing import CostTracker, format_credits
from editor.core.scene import LinesChanged, Scene, SceneError
from editor.engine.cache import AudioCache, default_state_dir
from editor.engine.errors import BILLING_URL, ServiceError
from editor.engine.events import RenderEvent, Stage
from editor.engine.journal import Journal
from editor.engine.keystore import KeyStoreError, get_key, key_from_environment
from editor.engine.renderplan import Estimate
from editor.engine.service import Target, resolve_target
from editor.engine.status import LineState, StatusBook
from editor.engine.takes import Take, TakeError, TakeStore, is_unsaved_takes, takes_dir_for
from editor.ui.scene import commands as cmd
from editor.ui.scene.delegates import (
    ChoiceDelegate,
    LineDelegate,
    NumberDelegate,
    PauseDelegate,
    SpeakerDelegate,
    language_choices,
    stability_choices,
)
from editor.ui.docks import CastPanel, CostPanel, QueuePanel, TakesPanel
from editor.ui.icons import icon
from editor.ui.playback.player import Player
from editor.ui.prompter import Prompter, ScriptedPrompter
from editor.ui.recovery import RecoveryFile
from editor.ui.scene.model import (
    COL_CREDITS,
    COL_LANGUAGE,
    COL_LENGTH,
    COL_NUMBER,
    COL_PAUSE,
    COL_SPEAKER,
    COL_STABILITY,
    COL_STATUS,
    COL_TEXT,
    SceneTableModel,
)
from editor.ui.settings import Settings
from editor.ui.tasks import AsyncRunner

if TYPE_CHECKING:  # the network and audio stacks load on first use, not at start-up
    from editor.engine.export import ExportPlan, ExportResult
    from editor.engine.render import RenderEngine, RenderOutcome, Resend
    from editor.engine.service import ServiceSession
    from editor.ui.export.dialog import ExportDialog, ExportOptions

log = logging.getLogger(__name__)
SAMPLE = "samples/night-ferry.castline"
AUTOSAVE_MS = 30_000
FILTER = "Castline scenes (*.castline)"


class SceneView(QTableView):
    """The table: Space plays, Esc stops, Delete removes, Enter edits the line."""

    def __init__(self) -> None:
        super().__init__()

    def keyPressEvent(self, e: Any) -> None:
        editing = self.state() == QAbstractItemView.State.EditingState
        if not editing and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not e.modifiers():
            index = self.currentIndex()
            if index.isValid():
                self.edit(self.model().index(index.row(), COL_TEXT))
                return
        super().keyPressEvent(e)


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, *, sandbox: bool = False,
                 cache_root: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.force_sandbox = sandbox
        self.runner = AsyncRunner(self)
        self.prompter: Prompter | ScriptedPrompter = Prompter(self)
        self._fresh_keys: set[str] = set()  # requests of the running render sent as new takes
        self.player = Player(self)
        self.undo = QUndoStack(self)
        self.scene = Scene()
        self.path: Path | None = None
        self._external_dirty = False
        self.session: ServiceSession | None = None
        self._session_target: tuple[bool, str] | None = None  # (sandbox, url) of self.session
        self._render_task: asyncio.Task[Any] | None = None
        self._play_queue: list[tuple[str, Path]] = []
        self._compare_queue: list[Path] = []
        self._clip_end: dict[str, str] = {}  # first line of a clip being played -> its last
        # Until the first scene is set: an empty store (nothing is written until a take arrives).
        self.takes = TakeStore(default_state_dir() / "unsaved" / f"{secrets.token_hex(12)}.takes")
        self._export_dialog: ExportDialog | None = None
        self._export_task: asyncio.Task[Any] | None = None
        self._cache_root = cache_root
        self.caches: dict[bool, AudioCache] = {}
        self.journal = Journal(default_state_dir() / "journal.jsonl")
        self.recovery = RecoveryFile(None)
        self._cached_cost = Fraction(0)
        self._seconds: dict[str, float] = {}
        self._takes_timer = QTimer(self, singleShot=True, interval=0)
        self._takes_timer.timeout.connect(self.refresh_takes_panel)

        self.setWindowIcon(icon("castline"))
        self.resize(1280, 800)
        self._build_table()
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)

        self.autosave = QTimer(self, interval=AUTOSAVE_MS)
        self.autosave.timeout.connect(self._on_autosave_timeout)
        self.autosave.start()
        self.undo.cleanChanged.connect(self._update_title)
        self.undo.indexChanged.connect(self._on_undo_index_changed)
        self.player.finished.connect(self._on_player_finished)
        self.player.failed.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.runner.failed.connect(self._on_runner_failed)
        self._cost_timer = QTimer(self, singleShot=True, interval=0)
        self._cost_timer.timeout.connect(self.update_costs)
        self._rows_timer = QTimer(self, singleShot=True, interval=50)
        self._rows_timer.timeout.connect(self._resize_rows)
        self.view.horizontalHeader().sectionResized.connect(lambda *_: self._rows_timer.start())
        self._build_sandbox_banner()
        self.set_scene(Scene(), None)
        self._laid_out = self._restore_layout()
        self._update_service_label()  # the saved layout may have hidden the banner

    # --- building ---------------------------------------------------------------------------

    def _build_table(self) -> None:
        self.view = SceneView()
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.view.setWordWrap(True)
        self.view.setAlternatingRowColors(True)
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setTabKeyNavigation(True)
        self.view.verticalHeader().hide()
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.clicked.connect(self._on_view_clicked)
        self.line_delegate = LineDelegate(self.view)
        self.view.setItemDelegateForColumn(COL_NUMBER, NumberDelegate(self.view))
        self.view.setItemDelegateForColumn(COL_TEXT, self.line_delegate)
        self.view.setItemDelegateForColumn(COL_SPEAKER, SpeakerDelegate(lambda: self.scene, self.view))
        self.view.setItemDelegateForColumn(COL_STABILITY, ChoiceDelegate(stability_choices(), self.view))
        self.view.setItemDelegateForColumn(COL_LANGUAGE, ChoiceDelegate(language_choices(), self.view))
        self.view.setItemDelegateForColumn(COL_PAUSE, PauseDelegate(self.view))
        self.empty_hint = QLabel(
            "<h2>An empty scene</h2><p>Press <b>Ctrl+Return</b> to add a line, "
            "<b>Ctrl+I</b> to import a Fountain, text or CSV script, or <b>Ctrl+O</b> to open a "
            "scene.</p>")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setEnabled(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty_hint)
        self.setCentralWidget(self.stack)

    def _build_docks(self) -> None:
        self.cast_panel = CastPanel()
        self.cast_panel.rename_requested.connect(self._on_cast_rename_requested)
        self.cast_panel.voice_requested.connect(self._on_cast_voice_requested)
        self.cast_panel.audition_requested.connect(self._on_cast_audition_requested)
        self.cost_panel = CostPanel()
        self.cost_panel.set_rounding(str(self.settings.get("pricing/rounding")))
        self.queue_panel = QueuePanel(lambda i: self.scene.row_of(i))  # noqa: PLW0108 - scene changes
        self.queue_panel.cancel_requested.connect(self.cancel_render)
        self.queue_panel.cancel_item_requested.connect(self._on_queue_cancel_item_requested)
        self.takes_panel = TakesPanel()
        self.takes_panel.play_requested.connect(self._on_takes_play_requested)
        self.takes_panel.compare_requested.connect(self._on_takes_compare_requested)
        self.takes_panel.choose_requested.connect(self.choose_take)
        self.takes_panel.delete_requested.connect(self.delete_take)
        self.takes_panel.regenerate_requested.connect(self.rerender_line)
        self.takes_panel.lock_requested.connect(self._on_takes_lock_requested)
        self.engine: RenderEngine | None = None
        self.docks = {}
        for name, title, widget, area in (
                ("cast", "Cast", self.cast_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                ("cost", "Cost", self.cost_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                ("queue", "Render queue", self.queue_panel, Qt.DockWidgetArea.BottomDockWidgetArea),
                ("takes", "Takes", self.takes_panel, Qt.DockWidgetArea.BottomDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{name}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.splitDockWidget(self.docks["queue"], self.docks["takes"], Qt.Orientation.Horizontal)

    def _action(self, text: str, slot: Any, shortcut: Any = None, tip: str = "",
                icon_name: str | None = None, context: Qt.ShortcutContext | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                              if shortcut else tip)
        if icon_name:
            action.setIcon(icon(icon_name))
        if context is not None:
            action.setShortcutContext(context)
            self.view.addAction(action)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        k = QKeySequence.StandardKey
        a = self._action
        self.act_new = a("&New", self.new_scene, k.New)
        self.act_open = a("&Open…", self.open_dialog, k.Open)
        self.act_save = a("&Save", self.save, k.Save)
        self.act_save_as = a("Save &As…", self.save_as, k.SaveAs)
        self.act_revert = a("&Revert to Saved", self.revert)
        self.act_import = a("&Import Script…", self.import_dialog, "Ctrl+I",
                            "Import a Fountain, plain-text or CSV script")
        self.act_export = a("&Export…", self.export_dialog, "Ctrl+E",
                            "Write the scene's audio, per-line files, stems, subtitles and a "
                            "manifest")
        self.act_scene_settings = a("Scene Se&ttings…", self.scene_settings_dialog, "Ctrl+Shift+,",
                                    "Title, stability, language, gap between lines and the "
                                    "pronunciation dictionary")
        self.act_settings = a("&Settings…", self.settings_dialog, k.Preferences)
        if self.act_settings.shortcut().isEmpty():
            self.act_settings.setShortcut(QKeySequence("Ctrl+,"))
        self.act_quit = a("&Quit", self.close, k.Quit)
        self.act_undo = self.undo.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(k.Undo)
        self.act_redo = self.undo.createRedoAction(self, "&Redo")
        self.act_redo.setShortcut(k.Redo)
        self.act_insert_below = a("Insert Line &Below", self.insert_below, "Ctrl+Return",
                                  "A new line after the current one, ready to type")
        self.act_insert_above = a("Insert Line &Above", self.insert_above, "Ctrl+Shift+Return")
        self.act_delete = a("&Delete Lines", self.delete_rows, "Ctrl+Backspace")
        self.act_duplicate = a("D&uplicate Lines", self.duplicate_rows, "Ctrl+D")
        self.act_move_up = a("Move &Up", lambda: self.move_rows(-1), "Alt+Up")
        self.act_move_down = a("Move Do&wn", lambda: self.move_rows(1), "Alt+Down")
        self.act_split = a("S&plit Line at Cursor", self.split_line, "Ctrl+K",
                           "Split the line being edited at the text cursor")
        self.act_merge = a("&Merge with Next Line", self.merge_line, "Ctrl+J")
        self.act_set_speaker = a("Set Spea&ker of Selection…", self.set_speaker_dialog, "Ctrl+Shift+K")
        self.act_set_language = a("Set &Language of Selection…", self.set_language_dialog, "Ctrl+Shift+L")
        self.stability_actions = []
        for i, (label, value) in enumerate(stability_choices()):
            self.stability_actions.append(a(label.replace(" (", " (", 1),
                                            lambda _c=False, v=value: self.set_selection("stability", v),
                                            f"Ctrl+{i}"))
        self.act_render_scene = a("Render &Scene", self.render_scene, "Ctrl+R",
                                  "Render every line that is not ready yet", "render")
        self.act_render_selection = a("Render Se&lection", self.render_selection, "Ctrl+Shift+R",
                                      "Render the selected lines")
        self.act_rerender = a("&New Take of Line", self.rerender_line, "Ctrl+Alt+R",
                              "Render the current line again: a new, paid reading; the earlier "
                              "takes are kept")
        self.act_lock = a("&Lock Lines", self.toggle_lock, "Ctrl+L",
                          "Lock the selected lines: no render touches them (again to unlock)")
        self.pause_actions = [
            a(f"Insert [{tag}]", lambda _c=False, t=tag: self.insert_tag(t), keys,
              f"Insert the [{tag}] tag at the cursor of the line being edited")
            for tag, keys in (("short pause", "Ctrl+Alt+1"), ("pause", "Ctrl+Alt+2"),
                              ("long pause", "Ctrl+Alt+3"))]
        self.act_cancel = a("&Cancel Render", self.cancel_render, "Ctrl+.")
        self.act_play_line = a("&Play Line", self.play_current, "Space", "Hear the current line",
                               "play", Qt.ShortcutContext.WidgetShortcut)
        self.act_play_scene = a("Play Scene from &Here", self.play_scene_from_current, "Ctrl+Space",
                                "Play from the current line to the end")
        self.act_stop = a("S&top", self.stop_playback, "Esc", "Stop playback", "stop",
                          Qt.ShortcutContext.WidgetShortcut)
        self.act_delete_key = a("Delete", self.delete_rows, QKeySequence.StandardKey.Delete,
                                context=Qt.ShortcutContext.WidgetShortcut)
        self.act_credits = a("Get &Credits…", lambda: QDesktopServices.openUrl(QUrl(BILLING_URL)),
                             tip="Open API in One's billing page in the browser")
        self.act_about = a("&About Castline", self.about)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addActions([self.act_save, self.act_save_as, self.act_revert])
        m.addSeparator()
        m.addActions([self.act_import, self.act_export])
        m.addSeparator()
        m.addActions([self.act_settings, self.act_quit])
        m = bar.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_insert_below, self.act_insert_above, self.act_duplicate,
                      self.act_delete, self.act_move_up, self.act_move_down, self.act_split,
                      self.act_merge])
        m.addSeparator()
        m.addAction(self.act_set_speaker)
        sm = m.addMenu("Set S&tability of Selection")
        sm.addActions(self.stability_actions)
        m.addAction(self.act_set_language)
        m.addAction(self.act_lock)
        sm = m.addMenu("Insert &Pause")
        sm.addActions(self.pause_actions)
        m.addSeparator()
        m.addAction(self.act_scene_settings)
        m = bar.addMenu("&Render")
        m.addActions([self.act_render_scene, self.act_render_selection, self.act_rerender,
                      self.act_cancel])
        m = bar.addMenu("&Play")
        m.addActions([self.act_play_line, self.act_play_scene, self.act_stop])
        m = bar.addMenu("&View")
        for dock in self.docks.values():
            m.addAction(dock.toggleViewAction())
        m = bar.addMenu("&Help")
        m.addActions([self.act_credits, self.act_about])

        tb = QToolBar("Main")
        tb.setObjectName("toolbar-main")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(tb)
        tb.addAction(self.act_render_scene)
        tb.addAction(self.act_render_selection)
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Per line", "lines")
        self.mode_combo.addItem("As dialogue", "take")
        self.mode_combo.setToolTip("Per line: one request per line, one take per line. As "
                                   "dialogue: consecutive lines sharing stability and language "
                                   "are sent together (cheaper for short lines, performed as a "
                                   "conversation; they share one take).")
        self.mode_combo.setCurrentIndex(1 if self.settings.get("render/mode") == "take" else 0)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_combo_changed)
        tb.addWidget(QLabel(" Mode: "))
        tb.addWidget(self.mode_combo)
        tb.addSeparator()
        tb.addAction(self.act_play_line)
        tb.addAction(self.act_play_scene)
        tb.addAction(self.act_stop)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setFixedWidth(100)
        self.volume.setToolTip("Volume")
        self.volume.setValue(int(self.settings.get("player/volume")))
        self.player.set_volume(self.volume.value() / 100)
        self.volume.valueChanged.connect(self._on_volume_changed)
        tb.addWidget(QLabel("  Volume "))
        tb.addWidget(self.volume)
        self.service_label = QLabel()
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy())
        tb.addWidget(spacer)
        tb.addWidget(self.service_label)

    # --- scene lifecycle -----------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return str(self.mode_combo.currentData())

    def target(self) -> Target:
        """Where requests go and why: --sandbox, then APIINONE_BASE_URL, then Settings."""
        return resolve_target(self.force_sandbox, str(self.settings.get("service/base_url")),
                              saved_sandbox=bool(self.settings.get("service/sandbox")))

    @property
    def sandbox(self) -> bool:
        return self.target().sandbox

    def cache(self) -> AudioCache:
        key = self.sandbox
        if key not in self.caches:
            self.caches[key] = AudioCache(self._cache_root, namespace="sandbox" if key else None)
        return self.caches[key]

    def set_scene(self, scene: Scene, path: Path | None, *, dirty: bool = False,
                  takes: Path | None = None) -> None:
        """Show ``scene`` (from ``path``); ``takes``: an unsaved scene's takes folder to reuse
        (a recovered scene's)."""
        old_model = getattr(self, "model", None)
        if old_model is not None:
            old_model.detach()
            self.costs.close()
            self.scene.remove_listener(self._on_scene_changed)
            self.book.detach()
        self.undo.clear()
        self._drop_unsaved_takes()
        self.scene, self.path = scene, path
        self._external_dirty = dirty
        self.takes = self._open_takes(path, takes)
        self.costs = CostTracker(scene)
        self.book = StatusBook(scene, self.cache(), self.takes, sandbox=self.sandbox)
        self.model = SceneTableModel(scene, self.costs, self.book, self._commit_cell)
        self.model.mode = self.mode
        self.model.default_gap_ms = int(self.settings.get("render/gap_ms"))
        self.model.rows_dropped.connect(self._on_model_rows_dropped)
        scene.add_listener(self._on_scene_changed)
        self.view.setModel(self.model)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._cost_timer.start())
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._update_actions())
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._takes_timer.start())
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(COL_TEXT, QHeaderView.ResizeMode.Stretch)
        for col, width in ((COL_NUMBER, 48), (COL_SPEAKER, 96), (COL_STABILITY, 108),
                           (COL_LANGUAGE, 104), (COL_PAUSE, 64), (COL_STATUS, 132),
                           (COL_LENGTH, 56), (COL_CREDITS, 60)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.view.setColumnWidth(col, width)
        self._resize_rows()
        self.model.rowsInserted.connect(lambda *_: self._resize_rows())
        self.model.dataChanged.connect(self._on_model_data_changed)
        self.cast_panel.set_scene(scene)
        self.recovery.discard()  # the previous scene's: it was saved or let go by now
        self.recovery = RecoveryFile(path)
        self._recompute_cached()
        self.update_costs()
        self._update_title()
        self._update_actions()
        if scene.lines:
            self.view.setCurrentIndex(self.model.index(0, COL_TEXT))
        self.refresh_takes_panel()

    # --- takes -------------------------------------------------------------------------------

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
                    self.statusBar().showMessage(" ".join(notes), 15000)
                return store
            except TakeError as e:
                QMessageBox.warning(self, "Takes unavailable", f"{e} The scene opens without "
                                    "them; rendered audio is still found in the cache.")
        return TakeStore(staging / f"{secrets.token_hex(12)}.takes")

    def _drop_unsaved_takes(self) -> None:
        """Leaving an unsaved scene: its takes folder goes (its audio stays in the cache)."""
        if self.path is None:
            self.forget_unsaved_takes(self.takes.root)

    @staticmethod
    def forget_unsaved_takes(root: Path) -> None:
        if is_unsaved_takes(root, default_state_dir() / "unsaved"):
            shutil.rmtree(root, ignore_errors=True)

    def _takes_changed(self, line_ids: list[str]) -> None:
        # The status book sees the store's new generation by itself; the rows and counts follow.
        self.model.refresh_ids(line_ids)
        self._refresh_rows(tuple(self.scene.row_of(i) for i in line_ids if self._has(i)))
        self._cost_timer.start()
        self.refresh_takes_panel()

    def refresh_takes_panel(self) -> None:
        row = self.current_row()
        if row is None:
            self.takes_panel.show_line(None, None, [], None, lambda _t: False, lambda _t: None)
            return
        line = self.scene.lines[row]
        store, key_of = self.takes, self.book.key_of
        self.takes_panel.show_line(row, line, self.book.takes_of(line), self.book.take(line),
                                   lambda t: store.usable(t, key_of), self._take_seconds)
        self.act_lock.setText("Un&lock Lines" if line.locked else "&Lock Lines")

    def _take_seconds(self, take: Take) -> float | None:
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

    def _keep_take(self, request: PlannedRequest, path: Path) -> None:
        from editor.engine.project import keep_take

        try:
            # A render's take becomes a line's choice only where no chosen take speaks it now;
            # a take the writer asked for ("New take") becomes the choice at once.
            asked = request.key in self._fresh_keys
            keep_take(self.takes, request, path, sandbox=self.sandbox,
                      key_of=None if asked else self.book.key_of)
        except TakeError as e:
            self.statusBar().showMessage(str(e), 15000)

    def choose_take(self, take_id: str) -> None:
        if (take := self.takes.get(take_id)) is None:
            return
        row = self.current_row()
        line_ids = take.line_ids if len(take.lines) > 1 or row is None else \
            [self.scene.lines[row].id]
        self.undo.push(cmd.ChooseTakeCommand(self.takes, line_ids, take_id, self._takes_changed))

    def delete_take(self, take_id: str) -> None:
        if self.takes.get(take_id) is not None:
            self.undo.push(cmd.DeleteTakeCommand(self.takes, take_id, self._takes_changed))

    def _on_takes_play_requested(self, take_id: str) -> None:
        take = self.takes.get(take_id)
        path = self.takes.path(take) if take is not None else None
        if path is not None:
            self._compare_queue = []
            self.player.play(path)

    def _on_takes_compare_requested(self, take_id: str) -> None:
        """A/B: this take, then the chosen one."""
        row = self.current_row()
        if row is None:
            return
        take, chosen = self.takes.get(take_id), self.book.take(self.scene.lines[row])
        if take is None or chosen is None:
            return
        first, then = self.takes.path(take), self.takes.path(chosen)
        if first is None or then is None:
            return
        self._compare_queue = [then]
        self.player.play(first)
        self.statusBar().showMessage("A/B: this take, then the chosen one.", 4000)

    def _on_takes_lock_requested(self, locked: bool) -> None:
        row = self.current_row()
        if row is not None:
            self.undo.push(cmd.SetFieldCommand(self.scene, [row], "locked", [locked],
                                               "Lock line" if locked else "Unlock line"))

    def toggle_lock(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        lock = not all(self.scene.lines[r].locked for r in rows)
        label = ("Lock" if lock else "Unlock") + (" line" if len(rows) == 1 else f" {len(rows)} lines")
        self.undo.push(cmd.SetFieldCommand(self.scene, rows, "locked", [lock] * len(rows), label))

    def insert_tag(self, tag: str) -> None:
        """Put ``[tag]`` at the cursor of the line being edited (opening it at the end if none)."""
        editor = self._open_line_editor()
        if editor is None:
            row = self.current_row()
            if row is None:
                return
            self.view.setCurrentIndex(self.model.index(row, COL_TEXT))
            self.view.edit(self.model.index(row, COL_TEXT))
            editor = self._open_line_editor()
            if editor is None:
                return
            editor.moveCursor(editor.textCursor().MoveOperation.End)
        cursor = editor.textCursor()
        before = editor.toPlainText()[:cursor.position()]
        space = "" if not before or before.endswith(" ") else " "
        cursor.insertText(f"{space}[{tag}] ")
        editor.setTextCursor(cursor)

    # --- layout --------------------------------------------------------------------------------

    def _resize_rows(self) -> None:
        if len(self.scene) <= 2000:
            self.view.resizeRowsToContents()

    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles: Any = ()) -> None:
        if top.row() == bottom.row():
            self.view.resizeRowToContents(top.row())

    def _on_scene_changed(self, event: Any, phase: str) -> None:
        if phase != "after":
            return
        if isinstance(event, LinesChanged) and len(event.rows) <= 64:
            self._refresh_rows(event.rows)
        else:
            self._recompute_cached()
        self.cast_panel.schedule()
        self._cost_timer.start()
        self._update_actions()
        self._takes_timer.start()

    @property
    def modified(self) -> bool:
        return self._external_dirty or not self.undo.isClean()

    def _update_title(self) -> None:
        name = self.path.name if self.path else "Untitled scene"
        self.setWindowTitle(f"{name}[*] — Castline")
        self.setWindowModified(self.modified)

    def _on_undo_index_changed(self) -> None:
        self._update_title()

    def _update_actions(self) -> None:
        has = bool(self.scene.lines)
        self.stack.setCurrentIndex(0 if has else 1)
        for act in (self.act_delete, self.act_duplicate, self.act_move_up, self.act_move_down,
                    self.act_merge, self.act_render_selection, self.act_rerender,
                    self.act_play_line, self.act_play_scene, self.act_render_scene):
            act.setEnabled(has)

    def _build_sandbox_banner(self) -> None:
        """A slim strip across the top of the window while no credits can be spent: its own
        toolbar row under the main one, so the docks keep their places and the window its size."""
        bar = self.sandbox_banner = QToolBar("Sandbox")
        bar.setObjectName("sandbox-banner")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.toggleViewAction().setVisible(False)  # not a toolbar the writer hides: it informs
        bar.setStyleSheet("QToolBar#sandbox-banner { background: #fff1c2; border: none; "
                          "border-bottom: 1px solid #e3c767; padding: 0px 6px; spacing: 8px; }"
                          "QToolBar#sandbox-banner QLabel { color: #4a3b00; }")
        strip = QWidget()
        row = QHBoxLayout(strip)
        row.setContentsMargins(4, 0, 4, 0)
        self.sandbox_banner_text = QLabel()
        row.addWidget(self.sandbox_banner_text)
        self.sandbox_banner_button = QPushButton("Add API key…")
        self.sandbox_banner_button.setFlat(True)
        self.sandbox_banner_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.sandbox_banner_button.setStyleSheet("QPushButton { color: #0b57d0; "
                                                 "text-decoration: underline; padding: 1px 4px; }")
        self.sandbox_banner_button.clicked.connect(self.add_key_dialog)
        row.addWidget(self.sandbox_banner_button)
        row.addStretch(1)
        bar.addWidget(strip)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        bar.setVisible(False)
        self.target_label = QLabel()  # where requests go and why, always in sight
        self.statusBar().addPermanentWidget(self.target_label)

    def _update_service_label(self) -> None:
        target = self.target()
        tip = f"{target.describe()}\n{target.describe_key()}"
        self.service_label.setText(f"  {target.name}  ")
        self.target_label.setText(target.describe())
        for label in (self.service_label, self.target_label):
            label.setToolTip(tip)
        self.sandbox_banner_text.setText(
            "<b>Sandbox:</b> stand-in voices, no credits are spent."
            + (" Started with --sandbox." if target.source == "command line" else ""))
        if self.sandbox_banner.isVisible() != target.sandbox:
            self.sandbox_banner.setVisible(target.sandbox)

    # --- costs -------------------------------------------------------------------------------

    def _recompute_cached(self) -> None:
        """Per-line status, counted, and the ready lines' requests summed; a full pass
        (after structural changes)."""
        self._ready_cost: dict[str, Fraction] = {}
        self._ready = Estimate()
        self._state_counts = dict.fromkeys(LineState, 0)
        self._line_state: dict[str, LineState] = {}
        for row, line in enumerate(self.scene.lines):
            self._account(line.id, row)

    def _account(self, line_id: str, row: int) -> None:
        old = self._line_state.get(line_id)
        if old is not None:
            self._state_counts[old] -= 1
        state = self.book.status(self.scene.lines[row]).state
        self._line_state[line_id] = state
        self._state_counts[state] += 1
        before = self._ready_cost.pop(line_id, None)
        if before is not None:
            self._ready = self._ready - Estimate.of_costs([before])
        cost = self.costs.line_cost(row)
        if state is LineState.READY and cost:
            self._ready_cost[line_id] = cost
            self._ready = self._ready + Estimate.of_costs([cost])

    def _refresh_rows(self, rows: tuple[int, ...]) -> None:
        """Incremental upkeep after an edit of a few lines: O(edited lines), not O(scene)."""
        for row in rows:
            if 0 <= row < len(self.scene):
                self._account(self.scene.lines[row].id, row)

    def update_costs(self) -> Estimate:
        from editor.engine.renderplan import render_now, total_estimate

        lines, states = self.scene.lines, self._line_state
        now = render_now(self.costs, self.mode,
                         lambda r: states.get(lines[r].id) is LineState.READY, self._ready)
        rows = self.selected_rows()
        selection = self.costs.selection_cost(rows) if rows and len(rows) <= 2000 else None
        self.cost_panel.show_figures(self.costs, selection, len(rows),
                                     total_estimate(self.costs, self.mode), now, self.mode,
                                     sandbox=self.sandbox)
        self._update_service_label()
        self.status_label.setText(
            f"{len(self.scene)} lines · {self._state_counts[LineState.READY]} ready · "
            f"{self.costs.characters:,} characters")
        return now

    # --- selection helpers -----------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        sm = self.view.selectionModel()
        if sm is None:
            return []
        rows = sorted({i.row() for i in sm.selectedIndexes()})
        if not rows and self.view.currentIndex().isValid():
            rows = [self.view.currentIndex().row()]
        return rows

    def current_row(self) -> int | None:
        index = self.view.currentIndex()
        return index.row() if index.isValid() else None

    def select_rows(self, rows: list[int], column: int = COL_TEXT) -> None:
        if not rows:
            return
        sm = self.view.selectionModel()
        sm.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for r in rows:
            sm.select(self.model.index(r, 0), flags)
        sm.setCurrentIndex(self.model.index(rows[0], column), QItemSelectionModel.SelectionFlag.NoUpdate)
        self.view.scrollTo(self.model.index(rows[0], column))

    # --- edits: each is one undo command ----------------------------------------------------------

    def _commit_cell(self, row: int, field: str, value: Any) -> None:
        self.undo.push(cmd.SetFieldCommand(self.scene, [row], field, [value]))

    def _new_line_speaker(self, row: int | None) -> str:
        if row is None or not self.scene.lines:
            return next(iter(self.scene.cast), "SPEAKER")
        current = self.scene.lines[row].speaker
        before = self.scene.lines[row - 1].speaker if row > 0 else None
        if before and before != current:
            return before  # dialogue alternates: the next line is the other speaker's
        others = [n for n in self.scene.cast if n != current]
        return others[0] if others else current

    def insert_below(self) -> None:
        row = self.current_row()
        at = len(self.scene) if row is None else row + 1
        self._insert_at(at, self._new_line_speaker(row))

    def insert_above(self) -> None:
        row = self.current_row()
        at = 0 if row is None else row
        self._insert_at(at, self._new_line_speaker(row) if row is not None else "SPEAKER")

    def _insert_at(self, at: int, speaker: str) -> None:
        line = self.scene.new_line(speaker, "")
        self.undo.push(cmd.InsertLinesCommand(self.scene, at, [line]))
        self.select_rows([at])
        self.view.edit(self.model.index(at, COL_TEXT))

    def delete_rows(self) -> None:
        rows = self.selected_rows()
        if rows:
            self.undo.push(cmd.DeleteLinesCommand(self.scene, rows))
            if self.scene.lines:
                self.select_rows([min(rows[0], len(self.scene) - 1)])

    def duplicate_rows(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        copies = [self.scene.new_line(self.scene.lines[r].speaker, self.scene.lines[r].text,
                                      stability=self.scene.lines[r].stability,
                                      language_code=self.scene.lines[r].language_code) for r in rows]
        at = rows[-1] + 1
        self.undo.push(cmd.InsertLinesCommand(self.scene, at, copies,
                                              "Duplicate line" if len(rows) == 1 else
                                              f"Duplicate {len(rows)} lines"))
        self.select_rows(list(range(at, at + len(copies))))

    def move_rows(self, step: int) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        if (step < 0 and rows[0] == 0) or (step > 0 and rows[-1] == len(self.scene) - 1):
            return
        dest = rows[0] - 1 if step < 0 else rows[-1] + 2
        self._move(rows, dest, "Move up" if step < 0 else "Move down")

    def _move(self, rows: list[int], dest: int, label: str) -> None:
        order = cmd.move_order(self.scene, rows, dest)
        if order == list(range(len(self.scene))):
            return
        ids = [self.scene.lines[r].id for r in rows]
        self.undo.push(cmd.ReorderCommand(self.scene, order, label))
        self.select_rows(sorted(self.scene.row_of(i) for i in ids), self.view.currentIndex().column()
                         if self.view.currentIndex().isValid() else COL_TEXT)

    def _on_model_rows_dropped(self, rows: list[int], dest: int) -> None:
        QTimer.singleShot(0, lambda: self._move(rows, dest, "Move lines"))

    def _open_line_editor(self) -> Any:
        editor = self.view.indexWidget(self.view.currentIndex())
        if editor is None:
            editor = self.view.focusWidget()
        return editor if hasattr(editor, "textCursor") else None

    def split_line(self) -> None:
        row = self.current_row()
        editor = self._open_line_editor()
        if row is None or editor is None:
            self.statusBar().showMessage("Edit a line (Enter) and put the cursor where it should "
                                         "be split, then press Ctrl+K.", 6000)
            return
        position = editor.textCursor().position()
        text = editor.toPlainText()
        self.line_delegate.closeEditor.emit(editor)
        if text != self.scene.lines[row].text:
            self._commit_cell(row, "text", text)
        if not 0 < position < len(self.scene.lines[row].text):
            self.statusBar().showMessage("Put the cursor inside the text to split the line.", 5000)
            return
        self.undo.push(cmd.SplitLineCommand(self.scene, row, position))
        self.select_rows([row + 1])

    def merge_line(self) -> None:
        row = self.current_row()
        if row is None or row + 1 >= len(self.scene):
            self.statusBar().showMessage("The last line has no next line to merge with.", 5000)
            return
        self.undo.push(cmd.MergeLinesCommand(self.scene, row))
        self.select_rows([row])

    def set_selection(self, field: str, value: Any) -> None:
        rows = self.selected_rows()
        if rows:
            self.undo.push(cmd.SetFieldCommand(self.scene, rows, field, [value] * len(rows)))

    def set_speaker_dialog(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        name, ok = QInputDialog.getItem(self, "Set speaker", f"Speaker of {len(rows)} line(s):",
                                        list(self.scene.cast), 0, True)
        if ok and name.strip():
            self.set_selection("speaker", name.strip())

    def set_language_dialog(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        choices = language_choices()
        label, ok = QInputDialog.getItem(self, "Set language", f"Language of {len(rows)} line(s):",
                                         [c[0] for c in choices], 0, False)
        if ok:
            self.set_selection("language_code", dict(choices)[label])

    def _on_cast_rename_requested(self, old: str, new: str) -> None:
        verb = "Merge" if new in self.scene.cast else "Rename"
        self.undo.push(cmd.CastCommand(self.scene, f"{verb} {old} → {new}", "rename", old, new))

    def _on_cast_voice_requested(self, speaker: str, voice: str) -> None:
        if speaker in self.scene.cast and self.scene.voice_of(speaker) != voice:
            self.undo.push(cmd.CastCommand(self.scene, f"Voice of {speaker}", "voice", speaker, voice))

    # --- files ---------------------------------------------------------------------------------

    def confirm_discard(self) -> bool:
        if not self.modified:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes",
            f"Save the changes to {self.path.name if self.path else 'this scene'}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_scene(self) -> None:
        if self.confirm_discard():
            self.recovery.discard()
            self.set_scene(Scene(), None)

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        name, _ = QFileDialog.getOpenFileName(self, "Open scene", str(self._last_dir()), FILTER)
        if name:
            self.open_path(Path(name))

    def _last_dir(self) -> Path:
        return self.path.parent if self.path else Path.home()

    def open_path(self, path: Path) -> bool:
        try:
            scene = sceneio.load(path)
        except sceneio.SceneFileError as e:
            QMessageBox.warning(self, "Cannot open the scene", str(e))
            return False
        self.recovery.discard()
        self.set_scene(scene, path)
        self.settings.add_recent(str(path.resolve()))
        return True

    def open_sample(self) -> None:
        scene = sceneio.loads(read_resource_text(SAMPLE), "night-ferry.castline")
        self.set_scene(scene, None)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.settings.get("files/recent"):
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _c=False, path=p: self.confirm_discard() and
                                  self.open_path(Path(path)))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent scenes").setEnabled(False)

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._save_to(self.path)

    def save_as(self) -> bool:
        suggested = self.path or self._last_dir() / f"{self.scene.title or 'Scene'}.castline"
        name, _ = QFileDialog.getSaveFileName(self, "Save scene", str(suggested), FILTER)
        if not name:
            return False
        path = Path(name)
        if path.suffix != ".castline":
            path = path.with_suffix(".castline")
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        try:
            sceneio.save(self.scene, path)
        except OSError as e:
            QMessageBox.critical(self, "Could not save", f"{path}: {e.strerror or e}. The previous "
                                 "file is unchanged and your edits are still here; free some space "
                                 "or choose another folder.")
            return False
        if self.path != path:
            self.recovery.discard()
            self.recovery = RecoveryFile(path)
            self._move_takes(path)
        self.path = path
        self.undo.setClean()
        self._external_dirty = False
        self.recovery.discard()
        self.settings.add_recent(str(path.resolve()))
        self._update_title()
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
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
            QMessageBox.warning(self, "Takes not copied", f"The scene was saved, but its takes "
                                f"could not be copied beside it: {e}")
            return
        if self.path is None:
            self.forget_unsaved_takes(old.root)
        self.takes = self.book.takes = new
        self.book.forget_cached()
        self.refresh_takes_panel()

    def revert(self) -> None:
        if self.path and (not self.modified or QMessageBox.question(
                self, "Revert", "Discard all changes since the last save?")
                == QMessageBox.StandardButton.Yes):
            self.open_path(self.path)

    def import_dialog(self) -> None:
        if not self.confirm_discard():
            return
        name, _ = QFileDialog.getOpenFileName(self, "Import script", str(self._last_dir()),
                                              "Scripts (*.fountain *.txt *.csv)")
        if not name:
            return
        self.import_path(Path(name))

    IMPORT_BUSY_BYTES = 256 * 1024  # scripts bigger than this show a busy bar while importing

    def import_path(self, path: Path) -> asyncio.Task[Any] | None:
        """Import ``path`` in a worker thread, so a big script never freezes the window (a
        busy bar in the status bar shows for big files); the scene is replaced when it is done.
        Returns the task (None if an import is already running)."""
        from PySide6.QtWidgets import QProgressBar

        from editor.core.importers import ImportError_, import_file

        running: asyncio.Task[Any] | None = getattr(self, "_import_task", None)
        if running is not None and not running.done():
            self.statusBar().showMessage("An import is already running.", 4000)
            return None
        try:
            big = path.stat().st_size > self.IMPORT_BUSY_BYTES
        except OSError:
            big = False
        bar: QProgressBar | None = None
        if big:
            bar = QProgressBar(self)
            bar.setObjectName("importProgress")
            bar.setRange(0, 0)  # busy: the readers cannot tell how far they are
            bar.setMaximumWidth(160)
            self.statusBar().addPermanentWidget(bar)
            self.statusBar().showMessage(f"Importing {path.name}…")
        self.act_import.setEnabled(False)
        edits_before = self.undo.index()
        warnings: list[str] = []

        def finish() -> None:
            self.act_import.setEnabled(True)
            if bar is not None:
                self.statusBar().removeWidget(bar)
                bar.deleteLater()
                self.statusBar().clearMessage()

        def done(scene: Scene) -> None:
            finish()
            # Edits made while it ran would be lost: ask again (the first ask was before).
            if self.undo.index() != edits_before and not self.confirm_discard():
                return
            self.set_scene(scene, None, dirty=True)
            note = f" ({len(warnings)} warning(s): {warnings[0]})" if warnings else ""
            self.statusBar().showMessage(
                f"Imported {len(scene)} lines from {path.name}{note}", 10000 if note else 6000)
            if warnings:
                QMessageBox.warning(self, "Imported, with warnings", "\n".join(warnings[:20]))

        def failed(e: BaseException) -> None:
            finish()
            if isinstance(e, ImportError_):
                QMessageBox.warning(self, "Cannot import", str(e))
            elif isinstance(e, OSError):
                QMessageBox.warning(self, "Cannot import", f"{path}: {e.strerror or e}.")
            else:
                raise e  # a bug: the crash handler reports it

        op = self.runner.run(asyncio.to_thread(import_file, path, warnings),
                             f"Import {path.name}").success(done).failure(failed).start()
        self._import_task = op.task
        return op.task

    def _on_autosave_timeout(self) -> None:
        if self.modified:
            self.save_recovery()

    def save_recovery(self) -> None:
        try:
            unsaved = self.takes.root if self.path is None else None
            self.recovery.save(self.scene, unsaved)
        except OSError as e:
            self.statusBar().showMessage(f"Autosave failed: {e.strerror or e}", 8000)

    # --- the service ---------------------------------------------------------------------------

    async def ensure_service(self) -> ServiceSession:
        from editor.engine.service import open_service

        target = self.target()
        want_sandbox = target.sandbox
        if self.session is not None and self._session_target == (want_sandbox, target.url):
            return self.session
        if self.session is not None:
            await self.session.aclose()
            self.session = None
        if want_sandbox:
            self.session = await open_service(sandbox=True, latency=0.4)
        else:
            key = key_from_environment()
            if key is None:
                try:
                    key = await asyncio.to_thread(get_key)
                except KeyStoreError as e:
                    raise ServiceError(str(e)) from None
            base = target.url  # APIINONE_BASE_URL wins over the saved address
            callback = str(self.settings.get("service/callback_url")) or None
            if not key:
                raise ServiceError("No API key is set. Add one in Settings (it is kept in the "
                                   "system keyring), or turn on the sandbox to try Castline "
                                   "without one.")
            self.session = await open_service(base_url=base, key=key, callback_url=callback)
        self._session_target = (want_sandbox, target.url)
        self._follow_service()
        return self.session

    async def _refresh_balance(self) -> None:
        if self.session is None:
            return
        try:
            self.cost_panel.balance_value = await self.session.client.balance()
        except ServiceError:
            self.cost_panel.balance_value = None
        self.update_costs()

    async def shutdown(self) -> None:
        self.player.release()
        await self.runner.cancel_all()
        if self._render_task is not None:
            self._render_task.cancel()
        if self.session is not None:
            await self.session.aclose()
            self.session = None

    # --- render ----------------------------------------------------------------------------------

    def render_scene(self) -> None:
        self.start_render(None)

    def render_selection(self) -> None:
        self.start_render(self.selected_rows())

    def rerender_line(self) -> None:
        """A new take of the current line; its earlier takes are kept."""
        row = self.current_row()
        if row is None:
            return
        if self.scene.lines[row].locked:
            self.statusBar().showMessage(f"Line {row + 1} is locked; unlock it (Ctrl+L) to render "
                                         "a new take.", 6000)
            return
        self.start_render([row], force=True)

    def start_render(self, rows: list[int] | None, *, force: bool = False,
                     then_play: str | None = None) -> asyncio.Task[Any] | None:
        if self._render_task is not None and not self._render_task.done():
            self.statusBar().showMessage("A render is already running; wait or cancel it.", 5000)
            return None
        op = self.runner.run(self._render(rows, force, then_play), "render")
        op.failure(self._on_render_failed).start()
        self._render_task = op.task
        return op.task

    async def _render(self, rows: list[int] | None, force: bool,
                      then_play: str | None) -> RenderOutcome | None:
        from editor.engine.journal import service_id
        from editor.engine.renderplan import build_plan_in_background

        target = self.target()
        try:
            render_plan = await build_plan_in_background(
                self.scene, self.mode, self.book, rows, force=force, journal=self.journal,
                service="" if target.sandbox else service_id(target.url))
        except PlanError as e:
            QMessageBox.warning(self, "Cannot render", str(e))
            return None
        requests = render_plan.requests
        if not requests:
            notes = []
            if render_plan.locked_rows:
                notes.append(f"{len(render_plan.locked_rows)} locked line(s) are never rendered "
                             "(Ctrl+L unlocks).")
            if render_plan.sandbox_only_rows:
                notes.append(f"{len(render_plan.sandbox_only_rows)} line(s) have only sandbox "
                             "audio.")
            self.statusBar().showMessage(
                " ".join(["Everything selected is already rendered.", *notes]), 5000)
            if then_play:
                self._play_line_id(then_play)
            return None
        fresh = {r.key for r in requests} if force else set()
        self._fresh_keys = fresh
        cost = render_plan.cost
        silent = [r + 1 for r in render_plan.locked_rows
                  if self.book.status(self.scene.lines[r]).state is not LineState.READY]
        if silent:
            where = "the sandbox" if self.sandbox else "API in One"
            self.statusBar().showMessage(
                f"Locked line(s) {', '.join(map(str, silent[:10]))} have no audio from {where} "
                "and are not rendered (Ctrl+L unlocks them).", 15000)
        budget = float(self.settings.get("render/budget"))
        if not self.sandbox and float(cost.high) > budget:
            answer = await self.prompter.ask(
                "Confirm render",
                f"This render sends {len(render_plan.to_send)} request(s): {cost.text()}. "
                f"That may be above your budget of {budget:g} credits set in Settings (the "
                "high figure assumes the service rounds each request up to a whole credit). "
                "Render?", ["Render", "Cancel"], default="Cancel")
            if answer != "Render":
                return None
        if self.modified:
            self.save_recovery()
        session = await self.ensure_service()
        from editor.engine.render import RenderEngine
        from editor.engine.renderplan import learn_rounding

        if not self.sandbox and self.cost_panel.balance_value is None:
            await self._refresh_balance()
        balance_before = self.cost_panel.balance_value
        engine = RenderEngine(session.client, self.cache(), self.journal,
                              jobs=int(self.settings.get("render/jobs")))
        self.engine = engine
        self.queue_panel.start(len(requests))
        self.docks["queue"].show()
        outcome = await engine.run(requests, self._on_render_event, self._confirm_resend,
                                   fresh=fresh)
        self.engine = None
        failed = len(outcome.errors)
        if failed:
            bad = [r for r in requests if r.key in outcome.errors]
            rows = [self.scene.row_of(i) + 1 for r in bad for i in r.line_ids if self._has(i)]
            first = outcome.errors[bad[0].key]
            where = f"Line {rows[0]}" if len(rows) == 1 else \
                f"{len(rows)} lines ({', '.join(map(str, rows[:8]))})"
            message = f"{where} failed: {first}"
            self.queue_panel.finish(message)
            self.statusBar().showMessage(message, 15000)
        else:
            self.queue_panel.finish(f"Done: {outcome.submitted} sent, {outcome.from_cache} from "
                                    f"cache, {outcome.resumed} resumed.")
            self.statusBar().showMessage("Render finished.", 5000)
        await self._refresh_balance()
        rounding = None if self.sandbox else learn_rounding(
            balance_before, self.cost_panel.balance_value,
            [r for r in requests if r.key in outcome.sent])
        if rounding:
            self.settings.set("pricing/rounding", rounding)
            self.cost_panel.set_rounding(rounding)
        if then_play:
            self._play_line_id(then_play)
        return outcome

    def _on_render_event(self, event: RenderEvent) -> None:
        if event.stage is Stage.READY and event.path is not None:
            self._keep_take(event.request, event.path)  # before the status looks for it
        ids = self.book.on_event(event)
        self.model.refresh_ids(ids)
        self.queue_panel.on_event(event)
        if event.stage is Stage.FAILED:
            rows = ", ".join(str(self.scene.row_of(i) + 1) for i in ids if self._has(i))
            self.statusBar().showMessage(f"Line {rows} failed: {event.error}", 15000)
        self._refresh_rows(tuple(self.scene.row_of(i) for i in ids if self._has(i)))
        if event.stage in (Stage.READY, Stage.FAILED):
            self._cost_timer.start()
            self._takes_timer.start()

    def _has(self, line_id: str) -> bool:
        try:
            self.scene.row_of(line_id)
        except SceneError:
            return False
        return True

    async def _confirm_resend(self, requests: Sequence[PlannedRequest]) -> Resend:
        """Requests sent once whose answer was lost: ask once, for all of them."""
        from editor.engine.render import Resend
        from editor.engine.renderplan import Estimate

        rows = sorted({self.scene.row_of(i) + 1 for r in requests for i in r.line_ids
                       if self._has(i)})
        shown = ", ".join(map(str, rows[:12])) + (" …" if len(rows) > 12 else "")
        cost = Estimate.of(requests)
        answer = await self.prompter.ask(
            "Lines that may already have been charged",
            f"{len(rows)} line(s) ({shown}) were sent to the service once and the answer was "
            f"lost, so they may already have been paid for ({cost.text()}).\n\n"
            "Send again: send them now; if the first sending was charged, you pay twice.\n"
            "Wait: send nothing for them now and ask again next time.\n"
            "Drop: forget them; they stay unrendered until you render them as new.",
            ["Send again", "Drop", "Wait"], default="Wait")
        return {"Send again": Resend.SEND, "Drop": Resend.DROP}.get(answer, Resend.WAIT)

    def _on_render_failed(self, error: BaseException) -> None:
        self.queue_panel.finish(f"Render failed: {error}")
        QMessageBox.warning(self, "Render failed", str(error))

    def cancel_render(self) -> None:
        if self._render_task is not None and not self._render_task.done():
            self._render_task.cancel()
            self.book.forget_live()
            self._recompute_cached()
            self.model.refresh_all()
            self.queue_panel.finish("Cancelled. Requests already sent will be picked up by the "
                                    "next render without paying again.")

    def _on_queue_cancel_item_requested(self, key: str) -> None:
        if self.engine is not None:
            self.engine.cancel(key)

    def _on_runner_failed(self, label: str, error: object) -> None:
        self.statusBar().showMessage(f"{label}: {error}", 10000)

    # --- play --------------------------------------------------------------------------------------

    def play_current(self) -> None:
        row = self.current_row()
        if row is None:
            return
        if self.model.playing_id == self.scene.lines[row].id and self.player.playing:
            self.stop_playback()
            return
        self._play_queue = []
        self.play_row(row)

    def play_row(self, row: int) -> None:
        line = self.scene.lines[row]
        status = self.book.status(line)
        if status.state is LineState.READY and status.path is not None:
            self._play_line_id(line.id)
        elif status.state in (LineState.QUEUED, LineState.RENDERING):
            self.statusBar().showMessage("This line is rendering; it plays when ready.", 4000)
        else:
            self.start_render([row], then_play=line.id)

    def _play_line_id(self, line_id: str) -> None:
        if not self._has(line_id):
            return
        status = self.book.status(self.scene.line_by_id(line_id))
        if status.path is None:
            return
        if self.player.play(status.path):
            self.model.set_playing(line_id)

    def play_scene_from_current(self) -> None:
        start = self.current_row() or 0
        queue: list[tuple[str, Path]] = []
        missing = []
        last_path: Path | None = None
        self._clip_end = {}
        for line in self.scene.lines[start:]:
            status = self.book.status(line)
            if status.state is LineState.READY and status.path is not None:
                if status.path != last_path:  # a take holds several lines: play it once
                    queue.append((line.id, status.path))
                self._clip_end[queue[-1][0]] = line.id  # its pause is the clip's last line's
                last_path = status.path
            elif line.text.strip():
                missing.append(line)
        if missing:
            self.statusBar().showMessage(f"{len(missing)} line(s) from here are not rendered yet "
                                         "and are skipped; render the scene first (Ctrl+R).", 8000)
        if not queue:
            return
        self._play_queue = queue[1:]
        self._play_line_id(queue[0][0])

    def _on_player_finished(self, path: str) -> None:
        if self._compare_queue:
            nxt = self._compare_queue.pop(0)
            QTimer.singleShot(400, lambda: self.player.play(nxt))
            return
        if self._play_queue and self.model.playing_id is not None:
            playing = self.model.playing_id
            gap = self.gap_after(self._clip_end.get(playing, playing))
            line_id, _ = self._play_queue.pop(0)
            QTimer.singleShot(gap, lambda: self._continue_scene(line_id))
        else:
            self.model.set_playing(None)

    def gap_after(self, line_id: str) -> int:
        """The silence after a line: its own pause, else the scene's gap, else the app's."""
        default = int(self.settings.get("render/gap_ms"))
        if not self._has(line_id):
            return default
        return self.scene.pause_after(self.scene.line_by_id(line_id), default)

    def _continue_scene(self, line_id: str) -> None:
        if self.model.playing_id is None:
            return  # stopped meanwhile
        self._play_line_id(line_id)
        if self._has(line_id):
            self.view.scrollTo(self.model.index(self.scene.row_of(line_id), COL_TEXT))

    def stop_playback(self) -> None:
        self._play_queue = []
        self._compare_queue = []
        self.player.stop()
        self.model.set_playing(None)

    def _on_volume_changed(self, value: int) -> None:
        self.player.set_volume(value / 100)
        self.settings.set("player/volume", value)

    def _on_view_clicked(self, index: QModelIndex) -> None:
        if index.column() == COL_NUMBER:
            self.view.setCurrentIndex(index)
            self.play_current()

    def _on_mode_combo_changed(self) -> None:
        self.settings.set("render/mode", self.mode)
        self.model.mode = self.mode
        self.model.refresh_column(COL_CREDITS)
        self.update_costs()

    # --- audition ---------------------------------------------------------------------------------

    def _on_cast_audition_requested(self, speaker: str) -> None:
        sample = Scene(model=self.scene.model, stability=self.scene.stability,
                       language_code=self.scene.language_code)
        sample.insert_lines(0, [sample.new_line(speaker, f"[curious] Hello, I'm {speaker.title()}. "
                                                         "This is how I sound in this scene.")])
        sample.set_voice(speaker, self.scene.voice_of(speaker))
        request = build_request(sample, sample.lines)
        cached = self.cache().get(request.key)
        if cached is None and not self.sandbox:
            answer = QMessageBox.question(
                self, "Hear voice", f"Render a short sample of {speaker}'s voice "
                f"({self.scene.voice_of(speaker) or 'default'}) for {format_credits(request.cost)}?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        if cached is not None:
            self.player.play(cached)
            return

        async def go() -> None:
            from editor.engine.render import RenderEngine

            session = await self.ensure_service()
            engine = RenderEngine(session.client, self.cache(), self.journal, jobs=1)
            outcome = await engine.run([request])
            if outcome.ok:
                self.player.play(outcome.paths[request.key])
            else:
                raise next(iter(outcome.errors.values()))

        self.runner.run(go(), "voice sample").failure(
            lambda e: QMessageBox.warning(self, "Voice sample failed", str(e))).start()

    # --- export -------------------------------------------------------------------------------------

    def export_dialog(self) -> None:
        from editor.ui.export.dialog import ExportDialog

        if not self.scene.lines:
            return
        if self._export_dialog is not None:
            self._export_dialog.raise_()
            self._export_dialog.activateWindow()
            return
        folder = Path(str(self.settings.get("export/folder")) or self._last_dir())
        base = self.path.stem if self.path else (self.scene.title or "Scene")
        what = [w for w in str(self.settings.get("export/what")).split(",") if w]
        dialog = ExportDialog(folder, base, what, str(self.settings.get("export/format")),
                              str(self.settings.get("export/name")), self)
        dialog.export_requested.connect(self._on_export_dialog_export_requested)
        dialog.finished.connect(lambda _r: setattr(self, "_export_dialog", None))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._export_dialog = dialog
        dialog.open()

    def _on_export_dialog_export_requested(self, options: ExportOptions) -> None:
        dialog = self._export_dialog
        if dialog is None:
            return
        self.settings.set("export/folder", str(options.folder))
        self.settings.set("export/what", ",".join(options.what))
        self.settings.set("export/format", options.fmt)
        self.settings.set("export/name", options.name)
        dialog.set_running(True)

        async def go() -> None:
            try:
                result = await self.export_files(options, progress=dialog.set_progress,
                                                 cancel_signal=dialog.cancel_requested)
            except Exception as e:
                dialog.finished_with(f"Export failed: {e}")
                raise
            if result is None:
                dialog.finished_with("Export cancelled; nothing half-written was left.")
            else:
                dialog.finished_with(f"Wrote {len(result.files)} file(s) to {result.folder} "
                                     f"({result.duration:.1f} s of audio).")

        op = self.runner.run(go(), "export").failure(
            lambda e: QMessageBox.warning(self, "Export failed", str(e)))
        op.start()
        self._export_task = op.task

    async def _export_layout(self, ask: bool) -> ExportPlan | None:
        """Where each line's audio is; lines without audio are reported first, with the choice
        to render them (cost shown), skip them, or cancel (None)."""
        from editor.engine.export import plan_export
        from editor.engine.project import resolver

        layout = plan_export(self.scene, resolver(self.book))
        if not layout.missing or not ask:
            return layout
        rows = layout.missing
        locked = [r for r in rows if self.scene.lines[r].locked]
        try:
            cost = sum((r.cost for r in plan(self.scene, self.mode, rows)), Fraction(0))
        except PlanError:
            cost = Fraction(0)
        shown = ", ".join(str(r + 1) for r in rows[:12]) + (" …" if len(rows) > 12 else "")
        box = QMessageBox(QMessageBox.Icon.Question, "Lines without audio",
                          f"{len(rows)} line(s) have no audio for their current text: {shown}."
                          + (f" {len(locked)} of them are locked and are never rendered."
                             if locked else ""), parent=self)
        render_btn = None
        if len(locked) < len(rows):
            render_btn = box.addButton(f"Render Them ({format_credits(cost)})",
                                       QMessageBox.ButtonRole.AcceptRole)
        skip_btn = box.addButton("Skip Them", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        if render_btn is not None and clicked is render_btn:
            task = self.start_render(rows)
            if task is not None:
                await task
            return plan_export(self.scene, resolver(self.book))
        if clicked is skip_btn:
            return layout
        return None

    async def export_files(self, options: ExportOptions, *, ask: bool = True,
                           progress: Any = None, cancel_signal: Any = None
                           ) -> ExportResult | None:
        """Export in a worker thread, reporting progress on the Qt side; None if cancelled."""
        from editor.engine.export import ExportCancelled, Exporter

        layout = await self._export_layout(ask)
        if layout is None:
            return None
        base = options.base or (self.path.stem if self.path else (self.scene.title or "Scene"))
        exporter = Exporter(self.scene, layout, options.folder, what=options.what,
                            fmt=options.fmt, name=options.name, base=base,
                            default_gap_ms=int(self.settings.get("render/gap_ms")))
        if cancel_signal is not None:
            cancel_signal.connect(exporter.cancel)
        loop = asyncio.get_running_loop()

        def report(done: int, total: int, text: str) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress, done, total, text)

        try:
            result = await asyncio.to_thread(exporter.run, report)
        except ExportCancelled:
            return None
        finally:
            if cancel_signal is not None:
                cancel_signal.disconnect(exporter.cancel)
        self.statusBar().showMessage(f"Exported {len(result.files)} file(s) to {result.folder}",
                                     8000)
        return result

    async def export_to(self, out: Path, *, ask: bool = True) -> Path | None:
        """The scene mix alone, to one file (the quick path; the dialog does the rest)."""
        from editor.ui.export.dialog import ExportOptions

        fmt = out.suffix.lower().lstrip(".")
        result = await self.export_files(ExportOptions(out.parent, ("mix",), fmt, "", out.stem),
                                         ask=ask)
        return None if result is None else result.files[0]

    # --- settings, about -------------------------------------------------------------------------------

    def add_key_dialog(self) -> None:
        """The sandbox banner's one click: Settings, on the key field."""
        self.settings_dialog(focus_key=True)

    def settings_dialog(self, *_: Any, focus_key: bool = False) -> None:
        from editor.ui.settingsdialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.runner, self,
                                command_line_sandbox=self.force_sandbox)
        if focus_key:
            dialog.focus_key()
        if dialog.exec():
            self._update_service_label()
            self.model.default_gap_ms = int(self.settings.get("render/gap_ms"))
            self._follow_service()

    def _follow_service(self) -> None:
        """The sandbox and the real service keep apart caches and takes: show the right ones."""
        if self.book.cache is self.cache() and self.book.sandbox == self.sandbox:
            return
        self.book.cache = self.cache()
        self.book.sandbox = self.sandbox
        self.book.forget_cached()
        self.model.refresh_all()
        self._recompute_cached()
        self.update_costs()
        self.refresh_takes_panel()

    def scene_settings_dialog(self) -> None:
        from editor.ui.scene.dialog import SceneSettingsDialog

        dialog = SceneSettingsDialog(self.scene, int(self.settings.get("render/gap_ms")), self)
        dialog.accepted.connect(lambda: self._apply_scene_settings(dialog.changes()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _apply_scene_settings(self, changes: dict[str, Any]) -> None:
        if not changes:
            return
        self.undo.beginMacro("Scene settings")
        for name, value in changes.items():
            if name == "pronunciations":
                self.undo.push(cmd.PronunciationsCommand(self.scene, value))
            else:
                self.undo.push(cmd.SceneSettingCommand(self.scene, name, value, f"Set {name}"))
        self.undo.endMacro()
        changed = self._state_counts.get(LineState.CHANGED, 0)
        if "pronunciations" in changes and changed:
            self.statusBar().showMessage(f"{changed} line(s) now say something different from "
                                         "their take; render them to hear it.", 8000)

    def about(self) -> None:
        QMessageBox.about(self, "About Castline", (
            f"<h3>Castline {__version__}</h3><p>A dialogue editor for writers: hear a scene "
            "spoken by ElevenLabs v3 through API in One.</p><p>Castline is MIT-licensed. It uses "
            "Qt for Python (PySide6), licensed under the LGPL v3: you may replace the Qt "
            "libraries it ships with. It also uses httpx, qasync, keyring, platformdirs, numpy "
            "and soundfile (libsndfile, LGPL).</p>"))

    # --- window state --------------------------------------------------------------------------------------

    def _restore_layout(self) -> bool:
        geometry = self.settings.q.value("window/geometry")
        state = self.settings.q.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        return isinstance(state, QByteArray) and self.restoreState(state)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._laid_out:  # first start: the table gets the room, the queue a strip
            self._laid_out = True
            self.resizeDocks([self.docks["cast"], self.docks["cost"]], [330, 330],
                             Qt.Orientation.Horizontal)
            self.resizeDocks([self.docks["cast"], self.docks["cost"]], [260, 300],
                             Qt.Orientation.Vertical)
            self.resizeDocks([self.docks["queue"]], [150], Qt.Orientation.Vertical)
            self.resizeDocks([self.docks["queue"], self.docks["takes"]], [520, 760],
                             Qt.Orientation.Horizontal)

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange:
            try:
                changed = self.takes.refresh()  # takes the command line added meanwhile
            except TakeError:
                return
            if changed:
                self._recompute_cached()
                self.model.refresh_all()
                self.refresh_takes_panel()

    def closeEvent(self, event: Any) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.settings.q.setValue("window/geometry", self.saveGeometry())
        self.settings.q.setValue("window/state", self.saveState())
        self.settings.q.sync()
        self.recovery.discard()
        self._drop_unsaved_takes()  # the writer let an unsaved scene go (or it had none)
        event.accept()

