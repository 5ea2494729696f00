"""The export room: the Export dialog, the missing-lines question, the export itself.

:class:`ExportController` asks the engine which lines lack audio and what rendering them
costs (:func:`editor.engine.project.missing_audio`), asks the writer through the
prompter, and runs the exporter as one background operation with progress and Cancel.
Rendering the missing lines is the render room's: it is handed in as ``render``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from editor.ui.prompter import AnyPrompter
from editor.ui.scene.document import SceneDocument
from editor.ui.settings import Settings
from editor.ui.tasks import AsyncRunner, Op

if TYPE_CHECKING:
    from editor.engine.export import ExportPlan, ExportResult
    from editor.ui.export.dialog import ExportDialog, ExportOptions

Render = Callable[[list[int]], "asyncio.Task[Any] | None"]


class ExportController(QObject):
    message = Signal(str, int)

    def __init__(self, document: SceneDocument, settings: Settings, runner: AsyncRunner,
                 prompter: AnyPrompter, render: Render, window: QWidget,
                 service: Callable[[], str] = lambda: "",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.settings = settings
        self.runner = runner
        self.prompter = prompter
        self.render = render
        self.service = service  # the journal's name for the service renders go to
        self._window = window
        self.dialog: ExportDialog | None = None
        self.op: Op | None = None

    @property
    def task(self) -> asyncio.Task[Any] | None:
        return self.op.task if self.op is not None else None

    def base_name(self) -> str:
        doc = self.document
        return doc.path.stem if doc.path else (doc.scene.title or "Scene")

    def open_dialog(self) -> None:
        from editor.ui.export.dialog import ExportDialog

        if not self.document.scene.lines:
            return
        if self.dialog is not None:
            self.dialog.raise_()
            self.dialog.activateWindow()
            return
        folder = Path(str(self.settings.get("export/folder")) or self.document.last_dir())
        what = [w for w in str(self.settings.get("export/what")).split(",") if w]
        dialog = ExportDialog(folder, self.base_name(), what, str(self.settings.get("export/format")),
                              str(self.settings.get("export/name")), self._window)
        dialog.export_requested.connect(self._on_dialog_export_requested)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()

    def _on_dialog_export_requested(self, options: ExportOptions) -> None:
        dialog = self.dialog
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

        self.op = self.runner.run(go(), "export").failure(
            lambda e: self.prompter.tell("Export failed", str(e))).start()

    async def layout(self, ask: bool) -> ExportPlan | None:
        """Where each line's audio is; lines without audio are reported first, with the choice
        to render them (cost shown), skip them, or cancel (None)."""
        from editor.core.pricing import format_credits
        from editor.engine.project import export_layout, missing_audio
        from editor.engine.report import missing_message

        doc = self.document
        missing = missing_audio(doc.scene, doc.book, doc.mode, journal=doc.journal,
                                service=self.service())
        if not missing.rows or not ask:
            return missing.layout
        cost = missing.render_plan.cost.low if missing.render_plan is not None else 0
        render = f"Render Them ({format_credits(cost)})"
        choices = ([render] if missing.renderable else []) + ["Skip Them", "Cancel"]
        answer = await self.prompter.ask("Lines without audio",
                                         missing_message(doc.scene, missing.rows), choices,
                                         default=choices[0])
        if answer == render:
            task = self.render(missing.rows)
            if task is not None:
                await task
            return export_layout(doc.scene, doc.book)
        if answer == "Skip Them":
            return missing.layout
        return None

    async def export_files(self, options: ExportOptions, *, ask: bool = True,
                           progress: Any = None, cancel_signal: Any = None
                           ) -> ExportResult | None:
        """Export in a worker thread, reporting progress on the Qt side; None if cancelled."""
        from editor.engine.export import ExportCancelled, Exporter

        layout = await self.layout(ask)
        if layout is None:
            return None
        doc = self.document
        try:  # a folder the writer typed that is not there yet: made, as a writer expects
            options.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OSError(e.errno, f"Cannot create the folder {options.folder}: "
                          f"{e.strerror or e}") from e
        exporter = Exporter(doc.scene, layout, options.folder, what=options.what,
                            fmt=options.fmt, name=options.name, base=options.base or self.base_name(),
                            default_gap_ms=int(self.settings.get("render/gap_ms")))
        if cancel_signal is not None:
            cancel_signal.connect(exporter.cancel)
        errors: list[BaseException] = []
        op = self.runner.run(exporter.run, "export files")
        op.progress(progress or (lambda *_: None)).on_cancel(exporter.cancel).failure(errors.append)
        try:
            result = await op.start().task  # type: ignore[misc]
        finally:
            if cancel_signal is not None:
                cancel_signal.disconnect(exporter.cancel)
        if errors:
            if isinstance(errors[0], ExportCancelled):
                return None
            raise errors[0]
        if result is None:
            return None
        self.message.emit(f"Exported {len(result.files)} file(s) to {result.folder}", 8000)
        return result

    async def export_to(self, out: Path, *, ask: bool = True) -> Path | None:
        """The scene mix alone, to one file (the quick path; the dialog does the rest)."""
        from editor.ui.export.dialog import ExportOptions

        fmt = out.suffix.lower().lstrip(".")
        result = await self.export_files(ExportOptions(out.parent, ("mix",), fmt, "", out.stem),
                                         ask=ask)
        return None if result is None else result.files[0]
