"""Every action of the window, declared once (after napari's ``_app_model`` actions).

Each :class:`ActionSpec` names its id, title, shortcut, icon, tip, handler (``"room.method"``
on the objects the window hands over, with fixed arguments) and when it is enabled (a
predicate over :class:`UiState`). The menus, the toolbar, the table's context menu, the
enabled states and Help → Keyboard Shortcuts are all built from :data:`ACTIONS`,
:data:`MENUS`, :data:`TOOLBAR` and :data:`CONTEXT_MENU`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenu, QMenuBar, QTextBrowser, QToolBar, QVBoxLayout, QWidget

from editor.ui.icons import icon
from editor.ui.scene.delegates import stability_choices, stability_help

Key = str | QKeySequence.StandardKey


@dataclass(frozen=True, slots=True)
class UiState:
    """What the enabled states depend on; the window computes it in one place."""

    has_lines: bool = False
    has_path: bool = False
    rendering: bool = False
    importing: bool = False
    current_locked: bool = False


@dataclass(frozen=True, slots=True)
class ActionSpec:
    id: str
    title: str
    handler: str  # "room.method" on the window's objects
    shortcut: Key | None = None
    tip: str = ""
    icon: str | None = None
    args: tuple[Any, ...] = ()
    enabled_when: Callable[[UiState], bool] | None = None
    title_when: Callable[[UiState], str] | None = None  # a title that follows the state
    widget_shortcut: bool = False  # only while the table has the focus (Space, Esc, Delete)
    fallback: str | None = None  # where the platform has no standard key


def _lines(s: UiState) -> bool:
    return s.has_lines


_STD = QKeySequence.StandardKey
_PAUSES = (("short pause", "Ctrl+Alt+1"), ("pause", "Ctrl+Alt+2"), ("long pause", "Ctrl+Alt+3"))

ACTIONS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec("file.new", "&New", "document.new_scene", _STD.New),
    ActionSpec("file.open", "&Open…", "document.open_dialog", _STD.Open),
    ActionSpec("file.save", "&Save", "document.save", _STD.Save),
    ActionSpec("file.save_as", "Save &As…", "document.save_as", _STD.SaveAs),
    ActionSpec("file.revert", "&Revert to Saved", "document.revert",
               enabled_when=lambda s: s.has_path),
    ActionSpec("file.import", "&Import Script…", "document.import_dialog", "Ctrl+I",
               "Import a Fountain, plain-text or CSV script",
               enabled_when=lambda s: not s.importing),
    ActionSpec("file.export", "&Export…", "export.open_dialog", "Ctrl+E",
               "Write the scene's audio, per-line files, stems, subtitles and a manifest",
               enabled_when=_lines),
    ActionSpec("file.settings", "&Settings…", "window.settings_dialog", _STD.Preferences,
               fallback="Ctrl+,"),
    ActionSpec("file.quit", "&Quit", "window.close", _STD.Quit),
    # Edit
    ActionSpec("edit.insert_below", "Insert Line &Below", "editor.insert_below", "Ctrl+Return",
               "A new line after the current one, ready to type"),
    ActionSpec("edit.insert_above", "Insert Line &Above", "editor.insert_above",
               "Ctrl+Shift+Return"),
    ActionSpec("edit.duplicate", "D&uplicate Lines", "editor.duplicate_rows", "Ctrl+D",
               enabled_when=_lines),
    ActionSpec("edit.delete", "&Delete Lines", "editor.delete_rows", "Ctrl+Backspace",
               enabled_when=_lines),
    ActionSpec("edit.delete_key", "Delete", "editor.delete_rows", _STD.Delete,
               widget_shortcut=True, enabled_when=_lines),
    ActionSpec("edit.move_up", "Move &Up", "editor.move_rows", "Alt+Up", args=(-1,),
               enabled_when=_lines),
    ActionSpec("edit.move_down", "Move Do&wn", "editor.move_rows", "Alt+Down", args=(1,),
               enabled_when=_lines),
    ActionSpec("edit.split", "S&plit Line at Cursor", "editor.split_line", "Ctrl+K",
               "Split the line being edited at the text cursor"),
    ActionSpec("edit.merge", "&Merge with Next Line", "editor.merge_line", "Ctrl+J",
               enabled_when=_lines),
    ActionSpec("edit.set_speaker", "Set Spea&ker of Selection…", "editor.set_speaker_dialog",
               "Ctrl+Shift+K"),
    ActionSpec("edit.set_language", "Set &Language of Selection…", "editor.set_language_dialog",
               "Ctrl+Shift+L"),
    *(ActionSpec(f"edit.stability.{i}", label, "editor.set_selection", f"Ctrl+{i}",
                 stability_help(value), args=("stability", value))
      for i, (label, value) in enumerate(stability_choices())),
    ActionSpec("edit.lock", "&Lock Lines", "editor.toggle_lock", "Ctrl+L",
               "Lock the selected lines: no render touches them (again to unlock)",
               title_when=lambda s: "Un&lock Lines" if s.current_locked else "&Lock Lines"),
    *(ActionSpec(f"edit.pause.{tag.replace(' ', '_')}", f"Insert [{tag}]", "editor.insert_tag",
                 keys, f"Insert the [{tag}] tag at the cursor of the line being edited",
                 args=(tag,))
      for tag, keys in _PAUSES),
    ActionSpec("edit.scene_settings", "Scene Se&ttings…", "editor.scene_settings_dialog",
               "Ctrl+Shift+,", "Title, stability, language, gap between lines and the "
               "pronunciation dictionary"),
    # Render
    ActionSpec("render.scene", "Render &Scene", "render.render_scene", "Ctrl+R",
               "Render every line that is not ready yet", "render", enabled_when=_lines),
    ActionSpec("render.selection", "Render Se&lection", "render.render_selection", "Ctrl+Shift+R",
               "Render the selected lines", enabled_when=_lines),
    ActionSpec("render.new_take", "&New Take of Line", "render.rerender_line", "Ctrl+Alt+R",
               "Render the current line again: a new, paid reading; the earlier takes are kept",
               enabled_when=_lines),
    ActionSpec("render.new_take_in_context", "New Take in Con&text", "takes.new_take_in_context",
               "Ctrl+Alt+Shift+R", "Render the current line again with the lines before and after "
               "it as a short dialogue; only this line's part is kept (the price is shown first)",
               enabled_when=_lines),
    ActionSpec("render.cancel", "&Cancel Render", "render.cancel_render", "Ctrl+.",
               enabled_when=lambda s: s.rendering),
    # Play
    ActionSpec("play.line", "&Play Line", "playback.play_current", "Space",
               "Hear the current line", "play", widget_shortcut=True, enabled_when=_lines),
    ActionSpec("play.scene", "Play Scene from &Here", "playback.play_scene_from_current",
               "Ctrl+Space", "Play from the current line to the end", enabled_when=_lines),
    ActionSpec("play.stop", "S&top", "playback.stop", "Esc", "Stop playback", "stop",
               widget_shortcut=True),
    # Help
    ActionSpec("help.shortcuts", "&Keyboard Shortcuts", "window.shortcuts_dialog",
               tip="Every action with a key, from the same table the menus are built from"),
    ActionSpec("help.credits", "Get &Credits…", "window.open_billing",
               tip="Open API in One's billing page in the browser"),
    ActionSpec("help.about", "&About Castline", "window.about"),
)

# "-" separates; "@name" is a place the window fills (recent files, docks, undo/redo);
# a (title, [...]) pair is a submenu.
MenuItem = str | tuple[str, Sequence[str]]
MENUS: tuple[tuple[str, tuple[MenuItem, ...]], ...] = (
    ("&File", ("file.new", "file.open", "@recent", "file.save", "file.save_as", "file.revert", "-",
               "file.import", "file.export", "-", "file.settings", "file.quit")),
    ("&Edit", ("@undo", "@redo", "-", "edit.insert_below", "edit.insert_above", "edit.duplicate",
               "edit.delete", "edit.move_up", "edit.move_down", "edit.split", "edit.merge", "-",
               "edit.set_speaker",
               ("Set S&tability of Selection",
                tuple(f"edit.stability.{i}" for i in range(len(stability_choices())))),
               "edit.set_language", "edit.lock",
               ("Insert &Pause", tuple(f"edit.pause.{t.replace(' ', '_')}" for t, _ in _PAUSES)),
               "-", "edit.scene_settings")),
    ("&Render", ("render.scene", "render.selection", "render.new_take",
                 "render.new_take_in_context", "render.cancel")),
    ("&Play", ("play.line", "play.scene", "play.stop")),
    ("&View", ("@docks",)),
    ("&Help", ("help.shortcuts", "help.credits", "help.about")),
)
TOOLBAR: tuple[str, ...] = ("render.scene", "render.selection", "@mode", "-", "play.line",
                            "play.scene", "play.stop", "@volume", "@service")
CONTEXT_MENU: tuple[str, ...] = ("play.line", "play.scene", "-", "render.selection",
                                 "render.new_take", "edit.lock", "-", "edit.insert_below",
                                 "edit.duplicate", "edit.delete", "edit.move_up",
                                 "edit.move_down", "edit.merge")


def _spec_of(id_: str) -> ActionSpec:
    return next(a for a in ACTIONS if a.id == id_)


def _native(seq: QKeySequence) -> str:
    return seq.toString(QKeySequence.SequenceFormat.NativeText)


class Actions:
    """The table made real: one QAction per spec, connected to its handler."""

    def __init__(self, parent: QObject, targets: Mapping[str, object], table_view: QWidget,
                 specs: Sequence[ActionSpec] = ACTIONS) -> None:
        self.specs = {s.id: s for s in specs}
        self.actions: dict[str, QAction] = {}
        self.extra: dict[str, QAction] = {}  # made elsewhere (undo/redo), listed for shortcuts
        for spec in specs:
            action = QAction(spec.title, parent)
            if spec.shortcut is not None:
                action.setShortcut(QKeySequence(spec.shortcut))
            if action.shortcut().isEmpty() and spec.fallback:
                action.setShortcut(QKeySequence(spec.fallback))
            if spec.tip:
                action.setStatusTip(spec.tip)
                keys = _native(action.shortcut())
                action.setToolTip(f"{spec.tip} ({keys})" if keys else spec.tip)
            if spec.icon:
                action.setIcon(icon(spec.icon))
            if spec.widget_shortcut:
                action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
                table_view.addAction(action)
            action.setObjectName(spec.id)
            room, method = spec.handler.split(".")
            handler = getattr(targets[room], method)
            action.triggered.connect(lambda _c=False, h=handler, a=spec.args: h(*a))
            self.actions[spec.id] = action

    def __getitem__(self, id_: str) -> QAction:
        return self.actions[id_]

    def update(self, state: UiState) -> None:
        """Enabled states (and titles) from the state: the one place they are set."""
        for id_, spec in self.specs.items():
            action = self.actions[id_]
            if spec.enabled_when is not None:
                action.setEnabled(spec.enabled_when(state))
            if spec.title_when is not None:
                action.setText(spec.title_when(state))

    def fill_menu(self, menu: QMenu, items: Sequence[MenuItem],
                  places: Mapping[str, Callable[[QMenu], None]]) -> None:
        for item in items:
            if isinstance(item, tuple):
                sub = menu.addMenu(item[0])
                sub.setToolTipsVisible(True)  # the stability modes explain themselves
                self.fill_menu(sub, item[1], places)
            elif item == "-":
                menu.addSeparator()
            elif item.startswith("@"):
                places[item](menu)
            else:
                menu.addAction(self.actions[item])

    def build_menus(self, bar: QMenuBar, places: Mapping[str, Callable[[QMenu], None]]) -> None:
        for title, items in MENUS:
            self.fill_menu(bar.addMenu(title), items, places)

    def build_toolbar(self, bar: QToolBar, places: Mapping[str, Callable[[QToolBar], None]]) -> None:
        for item in TOOLBAR:
            if item == "-":
                bar.addSeparator()
            elif item.startswith("@"):
                places[item](bar)
            else:
                bar.addAction(self.actions[item])

    def context_menu(self, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        self.fill_menu(menu, CONTEXT_MENU, {})
        return menu

    def shortcuts(self) -> list[tuple[str, str, str]]:
        """(menu, action, keys) of every action with a key, in menu order."""
        rows: list[tuple[str, str, str]] = []
        listed: set[str] = set()

        def walk(menu: str, items: Sequence[MenuItem]) -> None:
            for item in items:
                if isinstance(item, tuple):
                    walk(menu, item[1])
                    continue
                action = self.actions.get(item) or self.extra.get(item.lstrip("@"))
                if action is None:
                    continue
                listed.add(item)
                keys = _native(action.shortcut())
                if keys:
                    rows.append((menu, action.text().replace("&", "").split("\t")[0], keys))

        for title, items in MENUS:
            walk(title.replace("&", ""), items)
        for id_, action in self.actions.items():  # keys that live in no menu (Delete)
            keys = _native(action.shortcut())
            if id_ not in listed and keys:
                rows.append(("Table", action.text().replace("&", ""), keys))
        return rows


class ShortcutsDialog(QDialog):
    """Help → Keyboard Shortcuts: generated from the action table."""

    def __init__(self, rows: Sequence[tuple[str, str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(520, 640)
        body = ["<table cellspacing='0' cellpadding='3'>"]
        menu = None
        for where, title, keys in rows:
            if where != menu:
                menu = where
                body.append(f"<tr><td colspan='2'><h4>{html.escape(where)}</h4></td></tr>")
            body.append(f"<tr><td>{html.escape(title)}</td><td><b>{html.escape(keys)}</b></td></tr>")
        body.append("</table>")
        self.text = QTextBrowser()
        self.text.setHtml("".join(body))
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
