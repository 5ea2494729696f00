"""Questions to the writer from inside background work, without a nested event loop.

A coroutine (a render, an export) that needs an answer awaits
:meth:`Prompter.ask`: the message box is shown window-modal with ``open()``
and the coroutine resumes when a button is pressed, while the window goes on
painting and the other requests go on. Tests replace the window's prompter
with a scripted one instead of patching ``QMessageBox``'s statics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget


@dataclass(frozen=True, slots=True)
class Question:
    title: str
    text: str
    choices: tuple[str, ...]  # button labels; the last one is what Escape means
    default: str
    detail: str = ""


class Prompter:
    def __init__(self, parent: QWidget | None) -> None:
        self._parent = parent
        self.open_boxes: list[QMessageBox] = []

    async def ask(self, title: str, text: str, choices: Sequence[str], *, default: str,
                  detail: str = "", icon: QMessageBox.Icon = QMessageBox.Icon.Question) -> str:
        """The label of the button the writer pressed (the last choice on Escape/close)."""
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


@dataclass
class ScriptedPrompter:
    """For tests: answers from a script (or one fixed answer), recording every question."""

    answers: list[str] = field(default_factory=list)
    always: str | None = None
    asked: list[Question] = field(default_factory=list)

    async def ask(self, title: str, text: str, choices: Sequence[str], *, default: str,
                  detail: str = "", icon: object = None) -> str:
        self.asked.append(Question(title, text, tuple(choices), default, detail))
        answer = self.answers.pop(0) if self.answers else self.always
        if answer is None:
            raise AssertionError(f"unexpected question: {title}: {text}")
        if answer not in choices:
            raise AssertionError(f"{answer!r} is not one of {choices} in: {text}")
        return answer
