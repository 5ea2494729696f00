"""The check before paying, in the window: a short list of what will go wrong, each with
"Fix", and "Render anyway" / "Cancel".

``engine.precheck.check`` finds the problems (the same check ``castline render`` runs);
this only presents them. :func:`check_before_render` runs at the start of every render
(Render Scene, Render Selection, a new take, Space on a line without audio) and the
render goes on only when it returns True. The dialog is asked through the prompter
(window-modal, ``open()``, awaited), so nothing is sent while it is open.

What "Fix" does: a character with no voice or an unknown voice opens the voice picker
(the pick is an undoable voice change and the problem is ticked off in place); a language
the voice may not speak sets those lines to Auto-detect (one undo step); an empty line,
an unknown tag or a line over the limit ends the check without rendering and selects
those lines for editing (or Edit > Split).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from editor.engine.precheck import Fix, Kind, Problem, check
from editor.engine.status import LineState
from editor.ui.icons import icon
from editor.ui.scene.voicepicker import OwnVoices, VoicePicker, open_picker

if TYPE_CHECKING:
    from editor.ui.render.controller import RenderController

RENDER_ANYWAY, RENDER, CANCEL, FIX = "Render anyway", "Render", "Cancel", "Fix"
# Above this many lines the check runs on a worker thread over a snapshot (measured: 35-50 ms
# for 3,000 lines on the window's thread, 12 ms of it the snapshot).
THREAD_ABOVE = 800

FIX_LABEL = {Fix.SET_VOICE: "Pick a voice…", Fix.PICK_VOICE: "Pick a voice…",
             Fix.LANGUAGE_AUTO: "Set to Auto", Fix.DELETE_EMPTY: "Go to line",
             Fix.EDIT_TAG: "Go to line", Fix.SPLIT_LINE: "Go to line"}
FIX_TIP = {Fix.SET_VOICE: "Open the voice library for this character",
           Fix.PICK_VOICE: "Open the voice library for this character (or add the voice to "
           "your own voices there)",
           Fix.LANGUAGE_AUTO: "Set these lines' language to Auto-detect (undoable)",
           Fix.DELETE_EMPTY: "Stop here and select the empty line(s) to write or delete them",
           Fix.EDIT_TAG: "Stop here and select the line(s) to correct the tag",
           Fix.SPLIT_LINE: "Stop here and select the line to split it (Edit > Split)"}


class PrecheckDialog(QDialog):
    """The problems, a Fix for each, Render anyway / Cancel. ``answer`` says how it ended;
    after "Fix" on a line problem, ``fix_rows`` are the lines to select."""

    choices = (RENDER_ANYWAY, CANCEL)

    def __init__(self, problems: Sequence[Problem], own: OwnVoices, *,
                 set_voice: Callable[[str, str], None],
                 set_language_auto: Callable[[Sequence[int]], None],
                 voice_of: Callable[[str], str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problems = list(problems)
        self.own = own
        self._set_voice = set_voice
        self._set_language_auto = set_language_auto
        self._voice_of = voice_of
        self.answer = ""
        self.fix_rows: list[int] = []
        self.fixed: set[int] = set()  # indexes of problems fixed in place
        self.picker: VoicePicker | None = None
        self.setWindowTitle("Before rendering")
        self.setMinimumWidth(600)

        self.heading = QLabel()
        self.heading.setWordWrap(True)
        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(10)
        grid.setColumnStretch(1, 1)
        self.fix_buttons: list[QPushButton] = []
        self.messages: list[QLabel] = []
        for i, problem in enumerate(self.problems):
            mark = QLabel()
            mark.setPixmap(icon("status-failed" if problem.blocking else "warning").pixmap(16, 16))
            mark.setAlignment(Qt.AlignmentFlag.AlignTop)
            text = QLabel(problem.message)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            button = QPushButton(FIX_LABEL.get(problem.fix, FIX))
            button.setToolTip(FIX_TIP.get(problem.fix, ""))
            button.setAutoDefault(False)
            button.clicked.connect(lambda _c=False, n=i: self.fix(n))
            grid.addWidget(mark, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(text, i, 1, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(button, i, 2, Qt.AlignmentFlag.AlignTop)
            self.fix_buttons.append(button)
            self.messages.append(text)
        grid.setRowStretch(len(self.problems), 1)
        body: QWidget = grid_host
        if len(self.problems) > 6:  # a long list scrolls; a short one is as tall as it is
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(grid_host)
            scroll.setMinimumHeight(380)
            body = scroll

        self.buttons = QDialogButtonBox()
        self.render_button = self.buttons.addButton(RENDER_ANYWAY,
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(CANCEL, QDialogButtonBox.ButtonRole.RejectRole)
        self.render_button.setAutoDefault(False)
        self.cancel_button.setDefault(True)  # Enter does not spend money
        self.render_button.clicked.connect(lambda: self.choose(self.render_button.text()))
        self.cancel_button.clicked.connect(lambda: self.choose(CANCEL))
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addWidget(self.heading)
        layout.addWidget(body, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self._update()
        # Wrapped text asks for its height at the width it will have, not at its narrowest.
        self.resize(680, layout.totalHeightForWidth(680))

    # --- what it says --------------------------------------------------------------------

    def open_problems(self) -> list[Problem]:
        return [p for i, p in enumerate(self.problems) if i not in self.fixed]

    def _update(self) -> None:
        left = self.open_problems()
        if not left:
            self.heading.setText("<b>Everything found is fixed.</b> Nothing has been sent yet.")
            self.render_button.setText(RENDER)
            self.render_button.setEnabled(True)
            self.render_button.setDefault(True)
            self.note.setText("")
            return
        n = len(left)
        self.heading.setText(
            f"<b>{n} thing{'s' if n != 1 else ''} to look at before rendering.</b> Nothing has "
            "been sent yet. Fix them, or render anyway.")
        blocking = [p for p in left if p.blocking]
        self.render_button.setEnabled(not blocking)
        self.render_button.setToolTip(
            "A line over the per-request limit cannot be sent at all: split it first."
            if blocking else "Render as it is; the problems above stay.")
        self.note.setText("A line over the limit has to be split before anything can be "
                          "rendered." if blocking else "")

    def summary(self) -> str:
        return "\n".join(p.message for p in self.open_problems())

    # --- answers -------------------------------------------------------------------------

    def choose(self, answer: str) -> None:
        self.answer = answer
        if self.isVisible():
            if answer == CANCEL:
                self.reject()
            else:
                self.accept()

    def reject(self) -> None:
        self.answer = self.answer or CANCEL
        super().reject()

    def fix(self, index: int) -> None:
        problem = self.problems[index]
        if problem.fix in (Fix.SET_VOICE, Fix.PICK_VOICE):
            query = problem.detail if problem.kind is Kind.UNKNOWN_VOICE else ""
            self.picker = open_picker(self.own, self, speaker=problem.speaker,
                                      current=self._voice_of(problem.speaker), query=query)
            self.picker.picked.connect(lambda text, n=index: self._voice_picked(n, text))
        elif problem.fix is Fix.LANGUAGE_AUTO:
            self._set_language_auto(problem.rows)
            self._mark_fixed(index, "Set to Auto-detect")
        else:
            self.fix_rows = list(problem.rows)
            self.choose(FIX)

    def _voice_picked(self, index: int, text: str) -> None:
        problem = self.problems[index]
        self._set_voice(problem.speaker, text)
        # Every problem about this character's voice is settled by the pick.
        for i, p in enumerate(self.problems):
            if p.speaker == problem.speaker and p.kind in (Kind.NO_VOICE, Kind.UNKNOWN_VOICE):
                self._mark_fixed(i, f"Voice: {text}")

    def _mark_fixed(self, index: int, how: str) -> None:
        self.fixed.add(index)
        button = self.fix_buttons[index]
        button.setText(f"✓ {how}")
        button.setEnabled(False)
        font = self.messages[index].font()
        font.setStrikeOut(True)
        self.messages[index].setFont(font)
        self.messages[index].setEnabled(False)
        self._update()


def rows_to_check(render: RenderController, rows: Sequence[int] | None, force: bool) -> list[int]:
    """The lines this render may send: the chosen ones (all by default), less those whose
    audio is already there (a forced new take checks its line again)."""
    doc = render.document
    lines = doc.scene.lines
    chosen = range(len(lines)) if rows is None else rows
    if force:
        return [r for r in chosen if 0 <= r < len(lines)]
    # The document's kept states (the cost panel's truth), not a status worked out per line:
    # at 3,000 lines that took 20 ms of the window's thread.
    state = doc.line_state
    return [r for r in chosen if 0 <= r < len(lines)
            and state.get(lines[r].id) is not LineState.READY]


async def find_problems(render: RenderController, rows: Sequence[int] | None,
                        force: bool) -> list[Problem]:
    doc = render.document
    own = OwnVoices(render.settings).load()
    chosen = rows_to_check(render, rows, force)
    if not chosen:
        return []
    if len(chosen) <= THREAD_ABOVE:
        return check(doc.scene, chosen, doc.mode, own)
    snapshot = doc.scene.snapshot()
    return await asyncio.to_thread(check, snapshot, chosen, doc.mode, own)


async def check_before_render(render: RenderController, rows: Sequence[int] | None,
                              force: bool = False) -> bool:
    """True when the render may go on: nothing found, or the writer chose Render anyway."""
    problems = await find_problems(render, rows, force)
    if not problems:
        return True
    editor = render.editor
    scene = render.document.scene

    def set_language_auto(fix_rows: Sequence[int]) -> None:
        editor.select_rows(list(fix_rows))
        editor.set_selection("language_code", "auto")

    dialog = PrecheckDialog(problems, OwnVoices(render.settings), set_voice=editor.set_voice,
                            set_language_auto=set_language_auto,
                            voice_of=lambda s: scene.voice_of(s) if s in scene.cast else "",
                            parent=editor.view.window())
    answer = await render.prompter.dialog(dialog)
    if answer in (RENDER_ANYWAY, RENDER):
        return True
    if answer == FIX and dialog.fix_rows:
        editor.select_rows(dialog.fix_rows)
        editor.view.setFocus()
        first = dialog.fix_rows[0] + 1
        render.message.emit(f"Nothing was sent. Line {first} is selected: fix it, then render "
                            "again.", 10000)
        return False
    render.message.emit("Render cancelled before sending anything.", 5000)
    return False
