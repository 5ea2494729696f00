"""The editor window: it builds the rooms, wires their signals in one place and handles the
window's own events. It does no work of its own.

The rooms (each a folder with its panel): ``scene/`` (the document, the table and its
edits, the cast), ``render/`` (renders, the service, the cost and the queue),
``playback/``, ``takes/``, ``export/``. The actions come from one table (``actions.py``),
background work goes through one runner (``tasks.py``), questions through one prompter.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSlider,
    QToolBar,
    QWidget,
)

from editor import __version__
from editor.core.scene import Scene
from editor.engine.errors import BILLING_URL
from editor.engine.renderplan import Estimate
from editor.engine.service import Target
from editor.ui.actions import Actions, ShortcutsDialog, UiState
from editor.ui.export.controller import ExportController
from editor.ui.icons import icon
from editor.ui.playback.controller import PlaybackController
from editor.ui.playback.player import Player
from editor.ui.prompter import AnyPrompter, Prompter
from editor.ui.render.controller import RenderController
from editor.ui.render.panels import CostPanel
from editor.ui.render.queue import ElidedLabel, RenderQueue
from editor.ui.scene.cast import CastPanel
from editor.ui.scene.document import SceneDocument
from editor.ui.scene.lockguard import LockGuard
from editor.ui.scene.table import SceneEditor
from editor.ui.settings import Settings
from editor.ui.takes.controller import TakesController
from editor.ui.takes.panel import TakesPanel
from editor.ui.tasks import AsyncRunner, Op

ABOUT = (f"<h3>Castline {__version__}</h3><p>A dialogue editor for writers: hear a scene "
         "spoken by ElevenLabs v3 through API in One.</p><p>Castline is MIT-licensed. It uses "
         "Qt for Python (PySide6), licensed under the LGPL v3: you may replace the Qt "
         "libraries it ships with. It also uses httpx, qasync, keyring, platformdirs, numpy "
         "and soundfile (libsndfile, LGPL).</p>")


def _clock(seconds: float) -> str:
    """1:05 or 1:02:05 (hours for a long scene)."""
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


WARM_UP_AFTER_MS = 400  # the network and audio libraries load this long after the window shows


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, *, sandbox: bool = False,
                 cache_root: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.runner = AsyncRunner(self)
        self._prompter: AnyPrompter = Prompter(self)
        self.player = Player(self)
        self.cast_panel = CastPanel(settings)
        self.cost_panel = CostPanel()
        self.takes_panel = TakesPanel()
        self.document = doc = SceneDocument(settings, self.runner, self._prompter,
                                            sandbox=False, cache_root=cache_root, parent=self)
        self.queue_panel = RenderQueue(lambda i: doc.scene.row_of(i),  # noqa: PLW0108 - scene changes
                                       lambda i: doc.scene.line_by_id(i).speaker)
        self.editor = SceneEditor(doc, self._prompter, self)
        LockGuard(self.editor)  # a try at editing a locked line says why it cannot
        self.render = RenderController(doc, self.editor, settings, self.runner, self._prompter,
                                       self.cost_panel, self.queue_panel, force_sandbox=sandbox,
                                       parent=self)
        doc.use_service(self.render.sandbox)
        self.playback = PlaybackController(doc, self.editor, self.player, settings, self)
        self.takes_room = TakesController(doc, self.editor, self.takes_panel, self)
        self.export = ExportController(doc, settings, self.runner, self._prompter,
                                       self.render.start_render, self,
                                       service=self._journal_service, parent=self)
        self.setWindowIcon(icon("castline"))
        self.resize(1280, 800)
        self.setCentralWidget(self.editor.stack)
        self._build_docks()
        self.actions = Actions(self, {"document": doc, "editor": self.editor,
                                      "render": self.render, "playback": self.playback,
                                      "export": self.export, "takes": self.takes_room,
                                      "window": self}, self.editor.view)
        self.editor.context_menu = self.actions.context_menu(self.editor.view)
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._build_sandbox_banner()
        self._connect_signals()
        self._on_document_replaced()
        self._laid_out = self._restore_layout()
        self._warm_started = False
        self._update_service_label()  # the saved layout may have hidden the banner

    # --- building ---------------------------------------------------------------------------

    def _build_docks(self) -> None:
        self.docks: dict[str, QDockWidget] = {}
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

    def _build_menus_and_toolbar(self) -> None:
        undo = self.document.undo
        self.act_undo = undo.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = undo.createRedoAction(self, "&Redo")
        self.act_redo.setShortcut(QKeySequence.StandardKey.Redo)
        self.actions.extra.update({"undo": self.act_undo, "redo": self.act_redo})

        def recent(menu: QMenu) -> None:
            self.recent_menu = menu.addMenu("Open &Recent")
            self.recent_menu.aboutToShow.connect(self._fill_recent)

        def docks(menu: QMenu) -> None:
            for dock in self.docks.values():
                menu.addAction(dock.toggleViewAction())

        self.actions.build_menus(self.menuBar(), {
            "@recent": recent, "@docks": docks,
            "@undo": lambda m: m.addAction(self.act_undo),
            "@redo": lambda m: m.addAction(self.act_redo)})

        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Per line", "lines")
        self.mode_combo.addItem("As dialogue", "take")
        self.mode_combo.setToolTip("Per line: one request per line, one take per line. As "
                                   "dialogue: consecutive lines sharing stability and language "
                                   "are sent together (cheaper for short lines, performed as a "
                                   "conversation; they share one take).")
        self.mode_combo.setCurrentIndex(1 if self.document.mode == "take" else 0)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setFixedWidth(100)
        self.volume.setToolTip("Volume")
        self.volume.setValue(int(self.settings.get("player/volume")))
        self.service_label = QLabel()

        def service(bar: QToolBar) -> None:
            spacer = QWidget()
            spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                                 spacer.sizePolicy().verticalPolicy())
            bar.addWidget(spacer)
            bar.addWidget(self.service_label)

        tb = QToolBar("Main")
        tb.setObjectName("toolbar-main")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(tb)
        self.actions.build_toolbar(tb, {
            "@mode": lambda bar: (bar.addWidget(QLabel(" Mode: ")), bar.addWidget(self.mode_combo)),
            "@volume": lambda bar: (bar.addWidget(QLabel("  Volume ")), bar.addWidget(self.volume)),
            "@service": service})

    def _build_status_bar(self) -> None:
        # Status texts elide (the whole text is the tooltip): no text ever widens the window.
        self.status_label = ElidedLabel(max_width=380)
        self.status_label.setObjectName("status-summary")
        self.statusBar().addPermanentWidget(self.status_label)
        self.time_label = QLabel()  # running time of the scene and of the selection
        self.time_label.setMinimumWidth(1)  # never widens the window (clipped, tooltip has it)
        self.time_label.setMaximumWidth(420)
        self.time_label.setObjectName("status-time")
        self.statusBar().addPermanentWidget(self.time_label)
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setObjectName("importProgress")
        self.busy_bar.setRange(0, 0)  # busy: the work cannot tell how far it is
        self.busy_bar.setMaximumWidth(160)
        self.busy_bar.hide()
        self._busy_ops: list[Op] = []

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
        row.addWidget(self.sandbox_banner_button)
        row.addStretch(1)
        bar.addWidget(strip)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        bar.setVisible(False)
        self.target_label = ElidedLabel(max_width=320)  # where requests go, always in sight
        self.target_label.setObjectName("status-target")
        self.statusBar().addPermanentWidget(self.target_label)

    def _connect_signals(self) -> None:
        """Every wire between the rooms, in one place."""
        doc, editor, render, playback, takes = (self.document, self.editor, self.render,
                                                self.playback, self.takes_room)
        show = self.statusBar().showMessage
        for room in (doc, editor, render, playback, takes, self.export):
            room.message.connect(show)
        doc.replaced.connect(self._on_document_replaced)
        # During a render the document changes every flush (50 ms): the panels follow at most
        # every 250 ms (pricing as takes, the running time and the cast are O(scene)).
        self._panels_timer = QTimer(self, singleShot=True, interval=250)
        self._panels_timer.timeout.connect(self._on_document_changed)
        doc.changed.connect(self._on_document_changed_soon)
        doc.modified_changed.connect(self._update_title)
        editor.selection_changed.connect(render.update_costs)
        editor.selection_changed.connect(self._update_running_time)
        editor.current_changed.connect(self._update_actions)
        editor.current_changed.connect(takes.schedule)
        editor.number_clicked.connect(lambda _row: playback.play_current())
        self.cast_panel.rename_requested.connect(editor.rename_speaker)
        self.cast_panel.voice_requested.connect(editor.set_voice)
        self.cast_panel.audition_requested.connect(render.audition)
        render.auditions.compare.connect(playback.compare)
        render.play_requested.connect(playback.play_line)
        render.audio_ready.connect(playback.play_file)
        render.service_changed.connect(self._update_service_label)
        render.running_changed.connect(self._on_render_running_changed)
        render.queue_wanted.connect(self.docks["queue"].show)
        playback.render_requested.connect(
            lambda rows, line_id: render.start_render(rows, then_play=line_id))
        takes.play_requested.connect(playback.play_file)
        takes.compare_requested.connect(playback.compare)
        takes.new_take_requested.connect(render.rerender_line)
        takes.use_render(render)  # a render in context uses the render room's session
        self.player.failed.connect(lambda m: show(m, 8000))
        self.runner.failed.connect(lambda label, error: show(f"{label}: {error}", 10000))
        self.runner.started.connect(self._on_runner_started)
        self.runner.ended.connect(self._on_runner_ended)
        self.mode_combo.currentIndexChanged.connect(
            lambda _i: doc.set_mode(str(self.mode_combo.currentData())))
        self.volume.valueChanged.connect(playback.set_volume)
        self.sandbox_banner_button.clicked.connect(self.add_key_dialog)

    # --- what follows a change ------------------------------------------------------------------

    def _on_document_replaced(self) -> None:
        self.cast_panel.set_scene(self.document.scene)
        self._update_title()
        self._on_document_changed()
        self.takes_room.refresh()

    def _on_document_changed(self) -> None:
        """The one hook after every change: each panel refreshes from the document."""
        self.cast_panel.schedule()
        self.render.update_costs()
        self.status_label.setText(self.document.summary())
        self._update_running_time()
        self._update_service_label()
        self._update_actions()
        self.takes_room.refresh()

    def _on_document_changed_soon(self) -> None:
        if not self.render.running:
            self._panels_timer.stop()
            self._on_document_changed()
        elif not self._panels_timer.isActive():
            self._panels_timer.start()

    def _on_render_running_changed(self, running: bool) -> None:
        if running:
            self._update_actions()
        else:
            self._on_document_changed_soon()  # the figures held back during the render

    def ui_state(self) -> UiState:
        doc, row = self.document, self.editor.current_row()
        return UiState(
            has_lines=bool(doc.scene.lines), has_path=doc.path is not None,
            rendering=self.render.running, importing=doc.importing,
            current_locked=row is not None and row < len(doc.scene)
            and doc.scene.lines[row].locked)

    def _update_actions(self) -> None:
        self.actions.update(self.ui_state())

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.title()}[*] — Castline")
        self.setWindowModified(self.document.modified)

    def _update_service_label(self) -> None:
        target = self.render.target()
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

    def _on_runner_started(self, op: Op) -> None:
        self._update_actions()
        if op.shows_busy:
            self._busy_ops.append(op)
            self.statusBar().addPermanentWidget(self.busy_bar)
            self.busy_bar.show()

    def _on_runner_ended(self, op: Op) -> None:
        if op in self._busy_ops:
            self._busy_ops.remove(op)
            if not self._busy_ops:
                self.statusBar().removeWidget(self.busy_bar)
                self.busy_bar.hide()
                self.statusBar().clearMessage()
        self._update_actions()

    def _journal_service(self) -> str:
        from editor.engine.journal import service_id

        target = self.render.target()
        return "" if target.sandbox else service_id(target.url)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.settings.get("files/recent"):
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _c=False, path=p: self.document.open_recent(Path(path)))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent scenes").setEnabled(False)

    def _update_running_time(self) -> None:
        """How long the scene (and the selection) runs as rendered, pauses included."""
        doc = self.document
        seconds, rendered, count = doc.running_time()
        if not count:
            self.time_label.setText("")
            return
        text = (f"Running time {_clock(seconds)}" if rendered else "Running time –")
        if rendered < count:
            text += f" ({rendered} of {count} lines rendered)"
        rows = self.editor.selected_rows()
        if len(rows) > 1:
            sel, sel_rendered, sel_count = doc.running_time(rows)
            text += f" · Selection {_clock(sel) if sel_rendered else '–'}"
            text += (f" ({sel_count:,} lines)" if sel_rendered == sel_count
                     else f" ({sel_rendered:,} of {sel_count:,} lines rendered)")
        self.time_label.setText(text)
        self.time_label.setToolTip("The rendered audio of each line and the pause after it, as "
                                   "Play Scene and Export run them; lines not rendered yet are "
                                   "not counted.")

    # --- the first run ----------------------------------------------------------------------------

    def _welcome(self) -> None:
        """Once per user (remembered in settings): what the sandbox is and where the key goes."""
        if self.settings.get("ui/welcomed"):
            return
        self.settings.set("ui/welcomed", True)
        sandbox = self.render.target().sandbox
        now = ("Castline is in the <b>sandbox</b> now: stand-in voices read your lines, so you "
               "can try everything (rendering, takes, playback, export) and <b>no credits are "
               "spent</b>." if sandbox else
               "Castline found an API key and sends lines to the service; renders spend "
               "credits, and it asks before a render over your budget.")
        self.prompter.welcome(
            "Welcome to Castline",
            f"<h3>Welcome to Castline</h3><p>Write or import a scene (File → Import takes "
            f"Fountain, Final Draft, CSV and text), then press <b>Ctrl+R</b> to hear it.</p>"
            f"<p>{now}</p><p>To hear real ElevenLabs v3 voices, add your API in One key in "
            f"<b>File → Settings…</b> (the first field). The key is kept in the system keyring, "
            f"nowhere else. The sandbox banner's <i>Add API key…</i> leads there too.</p>",
            "Add API Key…", self.add_key_dialog)

    # --- the window's own dialogs ---------------------------------------------------------------

    def add_key_dialog(self) -> None:
        """The sandbox banner's one click: Settings, on the key field."""
        self.settings_dialog(focus_key=True)

    def settings_dialog(self, *_: Any, focus_key: bool = False) -> None:
        from editor.ui.settingsdialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.runner, self,
                                command_line_sandbox=self.render.force_sandbox)
        if focus_key:
            dialog.focus_key()
        if dialog.exec():
            self.document.settings_changed()
            self.render.follow_service()

    def shortcuts_dialog(self) -> None:
        dialog = ShortcutsDialog(self.actions.shortcuts(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def open_billing(self) -> None:
        QDesktopServices.openUrl(QUrl(BILLING_URL))

    def about(self) -> None:
        self.prompter.about("About Castline", ABOUT)

    # --- the face the app shell, the self-test and the scenarios use -----------------------------

    @property
    def prompter(self) -> AnyPrompter:
        return self._prompter

    @prompter.setter
    def prompter(self, prompter: AnyPrompter) -> None:
        """Every room asks through the same prompter (tests hand in a scripted one)."""
        self._prompter = prompter
        for room in (self.document, self.editor, self.render, self.export):
            room.prompter = prompter

    scene = property(lambda self: self.document.scene)
    book = property(lambda self: self.document.book)
    undo = property(lambda self: self.document.undo)
    takes = property(lambda self: self.document.takes)
    model = property(lambda self: self.document.model)
    path = property(lambda self: self.document.path)
    recovery = property(lambda self: self.document.recovery)
    modified = property(lambda self: self.document.modified)
    view = property(lambda self: self.editor.view)

    def target(self) -> Target:
        return self.render.target()

    def set_scene(self, scene: Scene, path: Path | None, *, dirty: bool = False,
                  takes: Path | None = None) -> None:
        self.document.set_scene(scene, path, dirty=dirty, takes=takes)

    def open_path(self, path: Path) -> bool:
        return self.document.open_path(path)

    def open_sample(self) -> None:
        self.document.open_sample()

    def confirm_discard(self) -> bool:
        return self.document.confirm_discard()

    def select_rows(self, rows: list[int]) -> None:
        self.editor.select_rows(rows)

    def start_render(self, rows: list[int] | None, *, force: bool = False,
                     then_play: str | None = None) -> asyncio.Task[Any] | None:
        return self.render.start_render(rows, force=force, then_play=then_play)

    def update_costs(self) -> Estimate:
        """The cost panel and where requests go, afresh (the environment may have changed)."""
        self._update_service_label()
        return self.render.update_costs()

    def play_current(self) -> None:
        self.playback.play_current()

    def stop_playback(self) -> None:
        self.playback.stop()

    def refresh_takes_panel(self) -> None:
        self.takes_room.refresh()

    async def shutdown(self) -> None:
        self.player.release()
        await self.runner.cancel_all()
        await self.render.shutdown()

    # --- window state and events ------------------------------------------------------------------

    def _restore_layout(self) -> bool:
        import json

        try:
            columns = json.loads(str(self.settings.get("window/columns")) or "{}")
        except ValueError:
            columns = {}
        if isinstance(columns, dict):
            self.editor.restore_column_state(columns)
        geometry = self.settings.q.value("window/geometry")
        state = self.settings.q.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        return isinstance(state, QByteArray) and self.restoreState(state)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._warm_started:  # once the window is on screen: the first render is quick
            self._warm_started = True
            # Not at once: the imports hold Python's lock, and the first paint of the window
            # calls into Python hundreds of times (the table's cells): started with the show,
            # they made the window appear ~0.2 s later.
            QTimer.singleShot(WARM_UP_AFTER_MS, self.render.warm_up)
        if not self.settings.get("ui/welcomed"):
            QTimer.singleShot(0, self._welcome)  # after the window is on screen
        if not self._laid_out:  # first start: the table gets the room, the queue a strip
            self._laid_out = True
            self.resizeDocks([self.docks["cast"], self.docks["cost"]], [330, 330],
                             Qt.Orientation.Horizontal)
            self.resizeDocks([self.docks["cast"], self.docks["cost"]], [260, 300],
                             Qt.Orientation.Vertical)
            self.resizeDocks([self.docks["queue"]], [150], Qt.Orientation.Vertical)
            self.resizeDocks([self.docks["queue"], self.docks["takes"]], [520, 760],
                             Qt.Orientation.Horizontal)

    def save_layout(self) -> None:
        """Window, docks, toolbars and the table's columns, for the next start."""
        import json

        self.settings.q.setValue("window/geometry", self.saveGeometry())
        self.settings.q.setValue("window/state", self.saveState())
        self.settings.set("window/columns", json.dumps(self.editor.column_state()))
        self.settings.q.sync()

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange:
            self.document.refresh_takes()  # takes the command line added meanwhile

    def closeEvent(self, event: Any) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.settings.q.setValue("window/geometry", self.saveGeometry())
        self.settings.q.setValue("window/state", self.saveState())
        self.save_layout()
        self.settings.q.sync()
        self.document.close()  # the writer let an unsaved scene go (or it had none)
        event.accept()
