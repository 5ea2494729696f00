"""Every question the window asks the writer goes through one object.

A coroutine (a render, an export) that needs an answer awaits :meth:`Prompter.ask`: the
message box is shown window-modal with ``open()`` and the coroutine resumes when a
button is pressed, while the window goes on painting and the other requests go on. A
plain slot (New, Open, Revert) that must wait for an answer before it returns uses the
``*_now`` methods, which are modal; they are never called from a coroutine. Notices
(:meth:`tell`) never block. Tests replace the window's prompter with
:class:`ScriptedPrompter` instead of patching ``QMessageBox``'s statics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QWidget,
)

Level = Literal["info", "warning", "error"]
_ICONS = {"info": QMessageBox.Icon.Information, "warning": QMessageBox.Icon.Warning,
          "error": QMessageBox.Icon.Critical}


def documents_folder() -> Path:
    """The writer's Documents folder (the home folder where there is none)."""
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(docs) if docs and Path(docs).is_dir() else Path.home()


def start_folder(where: Path) -> Path:
    """Where a file dialog opens: ``where`` (a folder, or a file's folder) if it is there,
    else its nearest existing parent below the home folder, else Documents."""
    folder = where if where.suffix == "" or where.is_dir() else where.parent
    for candidate in (folder, *folder.parents):
        if candidate.is_dir() and candidate not in (Path(candidate.anchor), Path.home()):
            return candidate
    return documents_folder()


def _suggested(suggested: Path) -> str:
    """A save dialog's suggestion: the name in a folder that exists."""
    return str(start_folder(suggested.parent) / suggested.name)


@dataclass(frozen=True, slots=True)
class Question:
    title: str
    text: str
    choices: tuple[str, ...]  # button labels; the last one is what Escape means
    default: str
    detail: str = ""


class ChoiceDialog(Protocol):
    """A dialog of the window's own (the pre-render check) asked like a question: it says
    what it asks (``summary``), which answers it has (``choices``, the last one is what
    Escape means) and, once closed, which one the writer chose (``answer``); ``choose``
    sets the answer as a button would (a scripted prompter calls it)."""

    choices: tuple[str, ...]
    answer: str

    def summary(self) -> str: ...

    def choose(self, answer: str) -> None: ...


class Prompter:
    def __init__(self, parent: QWidget | None) -> None:
        self._parent = parent
        self.open_boxes: list[QMessageBox] = []
        self.open_dialogs: list[QDialog] = []
        self.import_dialog: Any = None  # the open import preview (the screenshot reaches it)

    def _box(self, title: str, text: str, choices: Sequence[str], default: str, detail: str,
             icon: QMessageBox.Icon) -> tuple[QMessageBox, dict[QAbstractButton, str]]:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, self._parent)
        if detail:
            box.setDetailedText(detail)
        buttons: dict[QAbstractButton, str] = {}
        for label in choices:
            role = (QMessageBox.ButtonRole.RejectRole if label == choices[-1]
                    else QMessageBox.ButtonRole.AcceptRole)
            button = box.addButton(label, role)
            buttons[button] = label
            if label == default:
                box.setDefaultButton(button)
        box.setEscapeButton(next(b for b, lbl in buttons.items() if lbl == choices[-1]))
        return box, buttons

    async def ask(self, title: str, text: str, choices: Sequence[str], *, default: str,
                  detail: str = "", icon: QMessageBox.Icon = QMessageBox.Icon.Question) -> str:
        """The label of the button the writer pressed (the last choice on Escape/close)."""
        box, buttons = self._box(title, text, choices, default, detail, icon)
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def done(_result: int) -> None:
            if not answer.done():
                clicked = box.clickedButton()
                answer.set_result(buttons.get(clicked, choices[-1]) if clicked else choices[-1])

        box.finished.connect(done)
        self.open_boxes.append(box)
        box.open()
        try:
            return await answer
        finally:
            self.open_boxes.remove(box)
            box.deleteLater()

    async def dialog(self, dialog: QDialog) -> str:
        """Show one of the window's own question dialogs (a :class:`ChoiceDialog`) window-modal
        with ``open()`` and return its answer when it closes; cancelling the caller closes it."""
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        asked: ChoiceDialog = dialog  # type: ignore[assignment]

        def done(_result: int) -> None:
            if not answer.done():
                answer.set_result(asked.answer or asked.choices[-1])

        dialog.finished.connect(done)
        self.open_dialogs.append(dialog)
        dialog.setWindowModality(dialog.windowModality().WindowModal)
        dialog.open()
        try:
            return await answer
        finally:
            self.open_dialogs.remove(dialog)
            if dialog.isVisible():
                dialog.finished.disconnect(done)
                dialog.reject()
            dialog.deleteLater()

    def ask_now(self, title: str, text: str, choices: Sequence[str], *, default: str) -> str:
        """:meth:`ask` for a plain slot that cannot go on without the answer (modal)."""
        box, buttons = self._box(title, text, choices, default, "", QMessageBox.Icon.Question)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        return buttons.get(clicked, choices[-1]) if clicked else choices[-1]

    def tell(self, title: str, text: str, level: Level = "warning") -> None:
        """A notice; the caller goes on at once (the box is window-modal, opened)."""
        box = QMessageBox(_ICONS[level], title, text, QMessageBox.StandardButton.Ok, self._parent)
        box.finished.connect(lambda _r: box.deleteLater())
        box.open()

    def about(self, title: str, html: str) -> None:
        QMessageBox.about(self._parent, title, html)

    def welcome(self, title: str, html: str, action: str, on_action: Callable[[], None]) -> None:
        """A notice with one way onward (the first run's "Add API Key…"); never blocks."""
        box = QMessageBox(QMessageBox.Icon.Information, title, html,
                          QMessageBox.StandardButton.NoButton, self._parent)
        go = box.addButton(action, QMessageBox.ButtonRole.AcceptRole)
        later = box.addButton("Start Writing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(later)
        box.setEscapeButton(later)

        def done(_result: int) -> None:
            box.deleteLater()
            if box.clickedButton() is go:
                on_action()

        box.finished.connect(done)
        box.open()

    def open_file_now(self, title: str, folder: Path, name_filter: str) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self._parent, title, str(start_folder(folder)),
                                              name_filter)
        return Path(name) if name else None

    def save_file_now(self, title: str, suggested: Path, name_filter: str) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self._parent, title, _suggested(suggested),
                                              name_filter)
        return Path(name) if name else None

    def folder_now(self, title: str, folder: Path) -> Path | None:
        name = QFileDialog.getExistingDirectory(self._parent, title, str(start_folder(folder)))
        return Path(name) if name else None

    def import_preview(self, path: Path, folder: Path, runner: Any,
                       done: Callable[[Any], None]) -> None:
        """The import preview (window-modal, opened): ``done(ImportChoice)`` on Import."""
        from editor.ui.scene.importdialog import ImportDialog

        dialog = ImportDialog(path, runner, start_folder(folder), self._parent,
                              pick_folder=self.folder_now)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: done(dialog.choice()))
        self.import_dialog = dialog
        dialog.open()

    def item_now(self, title: str, label: str, items: Sequence[str], *,
                 editable: bool = False) -> str | None:
        value, ok = QInputDialog.getItem(self._parent, title, label, list(items), 0, editable)
        return value if ok else None


@dataclass
class ScriptedPrompter:
    """For tests: answers from a script (or one fixed answer), recording every question.

    One script serves every kind of question: a button's label, a file's path ("" for
    Cancel), an item. Notices are recorded in ``told`` and need no answer.
    """

    answers: list[str] = field(default_factory=list)
    always: str | None = None
    import_choice: Any = None  # what the import preview answers (None: import with defaults)
    asked: list[Question] = field(default_factory=list)
    told: list[Question] = field(default_factory=list)

    def _next(self, title: str, text: str, choices: Sequence[str] = (), default: str = "",
              detail: str = "") -> str:
        self.asked.append(Question(title, text, tuple(choices), default, detail))
        answer = self.answers.pop(0) if self.answers else self.always
        if answer is None:
            raise AssertionError(f"unexpected question: {title}: {text}")
        if choices and answer not in choices:  # a button named by its start ("Render")
            starting = [c for c in choices if c.startswith(answer)]
            if len(starting) == 1:
                return starting[0]
            raise AssertionError(f"{answer!r} is not one of {choices} in: {text}")
        return answer

    async def ask(self, title: str, text: str, choices: Sequence[str], *, default: str,
                  detail: str = "", icon: object = None) -> str:
        return self._next(title, text, choices, default, detail)

    def ask_now(self, title: str, text: str, choices: Sequence[str], *, default: str) -> str:
        return self._next(title, text, choices, default)

    async def dialog(self, dialog: QDialog) -> str:
        """The dialog is not shown: its summary is recorded and the script answers."""
        asked: ChoiceDialog = dialog  # type: ignore[assignment]
        answer = self._next(dialog.windowTitle(), asked.summary(), asked.choices,
                            asked.choices[0])
        asked.choose(answer)
        dialog.deleteLater()
        return answer

    def tell(self, title: str, text: str, level: Level = "warning") -> None:
        self.told.append(Question(title, text, (), level))

    def about(self, title: str, html: str) -> None:
        self.told.append(Question(title, html, (), "info"))

    def welcome(self, title: str, html: str, action: str, on_action: Callable[[], None]) -> None:
        self.told.append(Question(title, html, (action,), "info"))

    def open_file_now(self, title: str, folder: Path, name_filter: str) -> Path | None:
        answer = self._next(title, str(folder))
        return Path(answer) if answer else None

    def save_file_now(self, title: str, suggested: Path, name_filter: str) -> Path | None:
        answer = self._next(title, str(suggested))
        return Path(answer) if answer else None

    def item_now(self, title: str, label: str, items: Sequence[str], *,
                 editable: bool = False) -> str | None:
        answer = self._next(title, label)
        return answer or None

    def import_preview(self, path: Path, folder: Path, runner: Any,
                       done: Callable[[Any], None]) -> None:
        self.told.append(Question("Import preview", str(path), (), "info"))
        done(self.import_choice)


AnyPrompter = Prompter | ScriptedPrompter
