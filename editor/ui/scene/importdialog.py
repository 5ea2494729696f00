"""File → Import: what will come in, before anything changes.

The dialog reads the script with :func:`editor.core.importers.preview` and shows what it
found (format, delimiter, header row), the choices that apply to it (a column per role for
a spreadsheet; parentheticals, action and scenes for a Fountain or Final Draft script), the
first lines as they would come in, the counts and the warnings. Every change of a choice
previews again (on a worker thread through the runner for big files). Import hands the
options back (:meth:`ImportDialog.choice`); the document imports with exactly them, so the
scene is what the preview showed.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from editor.core.importers import ImportOptions, ImportPreview, preview
from editor.ui.tasks import AsyncRunner, Op

PREVIEW_ROWS = 20
SYNC_BYTES = 192 * 1024  # smaller files preview at once (a few ms); bigger ones on a worker
FORMAT_NAMES = {"fdx": "Final Draft script (.fdx)", "fountain": "Fountain script",
                "csv": "Spreadsheet", "text": "Plain text (NAME: line)"}
DELIMITERS = (("Detect", None), ("Comma  ,", ","), ("Semicolon  ;", ";"), ("Tab", "\t"),
              ("Pipe  |", "|"))
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# The roles a writer maps, in order, with their labels (scene/language/stability are extra).
ROLE_LABELS = (("speaker", "Speaker"), ("text", "Line (spoken text)"), ("id", "Line ID"),
               ("emotion", "Emotion / direction"), ("notes", "Notes"), ("scene", "Scene"),
               ("language", "Language"), ("stability", "Stability"))
NONE = "— none —"  # no column: a speaker is then read from "Name: line" in the text
PARENTHETICALS = (("Known ones as audio tags, others as notes", "map"),
                  ("All spoken as tags", "spoken"), ("All kept as notes (not spoken)", "note"))
ACTIONS = (("Left out", "drop"), ("Read by a narrator", "narrator"))
SCENES = (("One scene, headings kept", "one"), ("One scene file per heading", "split"))
HEADINGS = (("As a note on the next line", "note"), ("Read by the narrator", "line"),
            ("Left out", "drop"))
TIPS = {
    "parentheticals": "(whispering) becomes [whispers], (laughing) [laughs]; a direction v3 has "
                      "no tag for is kept as a note on the line, never spoken. “All spoken” "
                      "turns every parenthetical into a tag of its own words.",
    "action": "Action paragraphs: left out, or lines of the narrator (voice NARRATOR).",
    "scenes": "Keep the whole script as one scene, or write one scene file per scene heading.",
    "headings": "With one scene: where each scene heading goes.",
}


@dataclass(frozen=True, slots=True)
class ImportChoice:
    """What the writer chose: the options to import with, and where split scenes go."""

    options: ImportOptions
    split_folder: Path | None = None  # scenes="split": every scene file is written here


def split_targets(source: Path, folder: Path, count: int) -> list[Path]:
    """The files a split import writes: ``gumshoe-01.castline`` … beside each other."""
    return [folder / f"{source.stem}-{k:02d}.castline" for k in range(1, count + 1)]


def _combo(choices: tuple[tuple[str, Any], ...], tip: str = "") -> QComboBox:
    combo = QComboBox()
    for label, value in choices:
        combo.addItem(label, value)
    combo.setToolTip(tip)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    return combo


def _select(combo: QComboBox, value: Any) -> None:
    i = combo.findData(value)
    if i >= 0 and i != combo.currentIndex():
        combo.setCurrentIndex(i)


class ImportDialog(QDialog):
    """The import preview. ``preview_shown`` fires after each preview is on screen."""

    preview_shown = Signal()

    def __init__(self, path: Path, runner: AsyncRunner | None, folder: Path,
                 parent: QWidget | None = None, *, options: ImportOptions | None = None,
                 pick_folder: Callable[[str, Path], Path | None] | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.pick_folder = pick_folder  # the prompter's folder question
        self.runner = runner
        self.options = options or ImportOptions()
        self.result: ImportPreview | None = None
        self._epoch = 0
        self._op: Op | None = None
        self._filling = False
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        self.sync = size <= SYNC_BYTES or runner is None
        self.setWindowTitle(f"Import {path.name}")
        self.setMinimumSize(860, 600)
        self.resize(1040, 720)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)

        # --- the choices: a spreadsheet's columns, or a script's options ---------------------
        self.delimiter = _combo(DELIMITERS, "Which character separates the columns")
        self.header = QCheckBox("First row holds the column names")
        self.role_combos: dict[str, QComboBox] = {}
        sheet = QWidget()
        grid = QGridLayout(sheet)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Columns separated by:"), 0, 0)
        grid.addWidget(self.delimiter, 0, 1)
        grid.addWidget(self.header, 0, 2, 1, 2)
        for k, (role, label) in enumerate(ROLE_LABELS):
            combo = QComboBox()
            combo.setMinimumWidth(150)
            combo.setToolTip(f"The column that holds each line's {label.lower()}")
            self.role_combos[role] = combo
            r, c = 1 + k // 2, (k % 2) * 2
            grid.addWidget(QLabel(f"{label}:"), r, c)
            grid.addWidget(combo, r, c + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.emotion_how = _combo(PARENTHETICALS, "How the emotion column comes in: "
                                  + TIPS["parentheticals"])
        self.sheet_scenes = _combo((("One scene", "one"),
                                    ("One scene file per value of the Scene column", "split")),
                                   "Split the spreadsheet by its Scene column")
        row = len(ROLE_LABELS) // 2 + 1
        grid.addWidget(QLabel("Emotions:"), row, 0)
        grid.addWidget(self.emotion_how, row, 1)
        grid.addWidget(QLabel("Scenes:"), row, 2)
        grid.addWidget(self.sheet_scenes, row, 3)

        script = QWidget()
        form = QFormLayout(script)
        form.setContentsMargins(0, 0, 0, 0)
        self.parentheticals = _combo(PARENTHETICALS, TIPS["parentheticals"])
        self.action = _combo(ACTIONS, TIPS["action"])
        self.scenes = _combo(SCENES, TIPS["scenes"])
        self.headings = _combo(HEADINGS, TIPS["headings"])
        form.addRow("Parentheticals:", self.parentheticals)
        form.addRow("Action:", self.action)
        form.addRow("Scenes:", self.scenes)
        form.addRow("Scene headings:", self.headings)

        plain = QLabel("A plain-text script: each “NAME: line” becomes a line. No choices apply.")
        plain.setWordWrap(True)
        self.pages = QStackedWidget()
        for page in (sheet, script, plain):
            self.pages.addWidget(page)
        choices = QGroupBox("How it comes in")
        box = QVBoxLayout(choices)
        box.addWidget(self.pages)

        # --- where split scenes go ---------------------------------------------------------
        self.split_note = QLabel()
        self.split_note.setWordWrap(True)
        self.folder = QLineEdit(str(folder))
        self.folder.setToolTip("The folder the scene files are written to")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._on_browse_clicked)
        self.split_row = QWidget()
        where = QHBoxLayout(self.split_row)
        where.setContentsMargins(0, 0, 0, 0)
        where.addWidget(QLabel("Write the scene files to:"))
        where.addWidget(self.folder, 1)
        where.addWidget(browse)
        box.addWidget(self.split_row)
        box.addWidget(self.split_note)

        # --- what comes in ---------------------------------------------------------------
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Scene", "Speaker", "Line", "Kept beside it",
                                              "Line ID"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignRight
                                                        | Qt.AlignmentFlag.AlignTop)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(0, 150)
        self.table.setColumnWidth(1, 110)
        self.table.setColumnWidth(3, 230)
        self.table.setColumnWidth(4, 110)
        self.source = QTableWidget(0, 0)
        self.source.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.source.setWordWrap(False)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Lines as they will come in")
        self.tabs.addTab(self.source, "The file as read")
        self.counts = QTextBrowser()
        self.counts.setOpenLinks(False)
        self.counts.setMinimumWidth(240)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(self.counts)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([760, 260])

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import")
        self.buttons.accepted.connect(self._on_accepted)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(choices)
        layout.addWidget(split, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        self._timer = QTimer(self, singleShot=True, interval=60)
        self._timer.timeout.connect(self.refresh)
        for combo in (self.delimiter, self.parentheticals, self.action, self.scenes,
                      self.headings, self.emotion_how, self.sheet_scenes,
                      *self.role_combos.values()):
            combo.currentIndexChanged.connect(self._on_choice_changed)
        self.header.toggled.connect(self._on_choice_changed)
        self.folder.textChanged.connect(lambda _t: self._show_split())
        self.refresh()

    # --- previewing --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Preview with the current options: at once for a small file, else on a worker."""
        self._epoch += 1
        epoch, path, options = self._epoch, self.path, self.options
        if self._op is not None and self._op.running:
            self._op.cancel()  # its answer would be stale (the thread runs out, unheard)
        if self.sync:
            self._show(preview(path, options, rows=PREVIEW_ROWS))
            return
        assert self.runner is not None
        self.import_button.setEnabled(False)
        self.summary.setText(f"<b>Reading {html.escape(path.name)}…</b>")

        def shown(result: ImportPreview) -> None:
            if epoch == self._epoch:
                self._show(result)

        self._op = self.runner.run(lambda: preview(path, options, rows=PREVIEW_ROWS),
                                   f"Preview {path.name}").success(shown).start()

    async def settled(self) -> ImportPreview | None:
        """The preview for the current options (tests await it after a change)."""
        if self._timer.isActive():
            self._timer.stop()
            self.refresh()
        while self._op is not None and self._op.running and self._op.task is not None:
            await self._op.task
        return self.result

    def _on_choice_changed(self, *_: Any) -> None:
        if self._filling:
            return
        self.options = self._options_from_widgets()
        self._timer.start()

    def _options_from_widgets(self) -> ImportOptions:
        o = self.options
        if self.result is not None and self.result.format == "csv":
            columns = {role: str(combo.currentData()) for role, combo in self.role_combos.items()
                       if combo.currentData() is not None}
            # The header row changed: the mapping made for the old one no longer fits.
            header_changed = self.header.isChecked() != self.result.has_header
            return dataclasses.replace(
                o, delimiter=self.delimiter.currentData(),
                header=self.header.isChecked(),
                columns=None if header_changed or self.delimiter.currentData() != o.delimiter
                else columns,
                parentheticals=str(self.emotion_how.currentData()),
                scenes=str(self.sheet_scenes.currentData()))
        return dataclasses.replace(
            o, parentheticals=str(self.parentheticals.currentData()),
            action=str(self.action.currentData()), scenes=str(self.scenes.currentData()),
            headings=str(self.headings.currentData()))

    # --- showing -----------------------------------------------------------------------------

    def _show(self, p: ImportPreview) -> None:
        self.result = p
        if p.format == "csv":
            self.options = p.options  # the guessed columns, delimiter and header filled in
        self._filling = True
        try:
            self._fill_choices(p)
        finally:
            self._filling = False
        self.summary.setText(self._summary(p))
        self._fill_lines(p)
        self._fill_source(p)
        self.counts.setHtml(self._counts(p))
        self.error.setText(f"Cannot import with these choices: {p.error}" if p.error else "")
        self.error.setVisible(bool(p.error))
        self._show_split()
        self.preview_shown.emit()

    def _fill_choices(self, p: ImportPreview) -> None:
        o = self.options
        page = {"csv": 0, "text": 2}.get(p.format, 1)
        self.pages.setCurrentIndex(page)
        for k in range(self.pages.count()):  # the box is as tall as the choices shown
            policy = QSizePolicy.Policy.Preferred if k == page else QSizePolicy.Policy.Ignored
            self.pages.widget(k).setSizePolicy(policy, policy)
        self.pages.adjustSize()
        if p.format == "csv":
            _select(self.delimiter, o.delimiter if o.delimiter is not None else p.delimiter)
            self.header.setChecked(p.has_header)
            names = p.headers or [f"column {k + 1}" for k in
                                  range(max((len(r) for r in p.source_rows), default=0))]
            values = p.headers or [str(k + 1) for k in range(len(names))]
            for role, combo in self.role_combos.items():
                combo.clear()
                current = p.columns.get(role)
                if current is None:
                    combo.addItem(NONE, None)  # a guessed role cannot be unmapped (core rule)
                for name, value in zip(names, values, strict=True):
                    combo.addItem(name, value)
                _select(combo, current)
            _select(self.emotion_how, o.parentheticals)
            _select(self.sheet_scenes, o.scenes)
            self.sheet_scenes.setEnabled("scene" in p.columns)
        else:
            _select(self.parentheticals, o.parentheticals)
            _select(self.action, o.action)
            _select(self.scenes, o.scenes)
            _select(self.headings, o.headings)
            self.headings.setEnabled(o.scenes == "one")

    def _summary(self, p: ImportPreview) -> str:
        what = FORMAT_NAMES.get(p.format, p.format)
        if p.format == "csv":
            kind = "TSV" if p.delimiter == "\t" else "CSV"
            sep = DELIMITER_NAMES.get(p.delimiter or "", repr(p.delimiter))
            what = (f"Spreadsheet ({kind}, {sep}-separated, "
                    + ("first row is the header" if p.has_header else "no header row") + ")")
        if p.error:
            return f"<b>{html.escape(self.path.name)}</b> — {html.escape(what)}"
        speakers = len(p.speakers)
        scenes = (f" in {p.scene_count} scenes" if p.scene_count > 1 else "")
        return (f"<b>{html.escape(self.path.name)}</b> — {html.escape(what)}<br>"
                f"<b>{p.total_lines:,} line{'s' if p.total_lines != 1 else ''}</b>{scenes}, "
                f"{speakers} speaker{'s' if speakers != 1 else ''}")

    def _fill_lines(self, p: ImportPreview) -> None:
        t = self.table
        grey = QBrush(QApplication.palette().color(QPalette.ColorRole.PlaceholderText))
        t.setRowCount(len(p.lines))
        for r, line in enumerate(p.lines):
            title = p.scene_titles[line.scene] if line.scene < len(p.scene_titles) else ""
            scene = f"{line.scene + 1}. {title}" if p.scene_count > 1 else title
            extras = [f"Note: {line.note}"] if line.note else []
            for key, value in line.extra.items():
                if key == "note" or value in ("", None):
                    continue
                extras.append(f"{key}: {value}")
            for c, text in enumerate((scene, line.speaker, line.text, " · ".join(extras),
                                      line.id)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                if c in (0, 3, 4):
                    item.setForeground(grey)
                t.setItem(r, c, item)
            t.setVerticalHeaderItem(r, QTableWidgetItem(str(r + 1)))
        t.setColumnHidden(0, p.scene_count <= 1)  # one scene: its headings show as notes
        # The file's own line ids matter to a game writer; made-up ones (line-7) do not.
        t.setColumnHidden(4, all(re.fullmatch(r"line-\d+", ln.id) for ln in p.lines))
        t.resizeRowsToContents()
        shown = len(p.lines)
        self.tabs.setTabText(0, f"Lines as they will come in (first {shown} of {p.total_lines:,})"
                             if p.total_lines > shown else "Lines as they will come in")

    def _fill_source(self, p: ImportPreview) -> None:
        s = self.source
        rows = p.source_rows
        self.tabs.setTabVisible(1, bool(rows))
        if not rows:
            return
        body = rows[1:] if p.has_header else rows
        ncols = max(len(r) for r in rows)
        s.clear()
        s.setColumnCount(ncols)
        s.setRowCount(len(body))
        labels = [(p.headers[k] if k < len(p.headers) else f"column {k + 1}") for k in range(ncols)]
        role_of = {v: role for role, v in p.columns.items()}
        s.setHorizontalHeaderLabels([f"{h}\n→ {role_of[h]}" if h in role_of else
                                     (f"{h}\n→ {role_of[str(k + 1)]}" if str(k + 1) in role_of
                                      else f"{h}\n(kept on the line)")
                                     for k, h in enumerate(labels)])
        for r, row in enumerate(body):
            for c, cell in enumerate(row):
                item = QTableWidgetItem(cell)
                item.setToolTip(cell)
                s.setItem(r, c, item)
        s.resizeColumnsToContents()
        for c in range(ncols):
            s.setColumnWidth(c, min(max(s.columnWidth(c), 70), 260))

    def _counts(self, p: ImportPreview) -> str:
        out = []
        if p.speakers:
            out.append("<h4 style='margin:0'>Lines per speaker</h4><table cellspacing='0'>")
            for name, n in sorted(p.speakers.items(), key=lambda kv: (-kv[1], kv[0]))[:30]:
                out.append(f"<tr><td>{html.escape(name)}</td><td align='right'>"
                           f"&nbsp;&nbsp;{n:,}</td></tr>")
            if len(p.speakers) > 30:
                out.append(f"<tr><td colspan='2'>… and {len(p.speakers) - 30} more</td></tr>")
            out.append("</table>")
        stats = {k: v for k, v in p.stats.items() if k not in ("lines", "paragraphs") and v}
        if stats:
            out.append("<h4 style='margin-bottom:0'>What happens to the rest</h4><ul "
                       "style='margin-left:-20px'>")
            out.extend(f"<li>{n:,} {html.escape(k)}</li>" for k, v in stats.items()
                       for n in (v,))
            out.append("</ul>")
        if p.warnings:
            out.append("<h4 style='margin-bottom:0; color:#9a5b00'>Worth a look</h4><ul "
                       "style='margin-left:-20px'>")
            out.extend(f"<li>{html.escape(w)}</li>" for w in p.warnings)
            out.append("</ul>")
        return "".join(out)

    def _split_targets(self) -> list[Path]:
        p = self.result
        if p is None or self.options.scenes != "split" or p.scene_count < 2:
            return []
        return split_targets(self.path, Path(self.folder.text()).expanduser(), p.scene_count)

    def _show_split(self) -> None:
        """Say plainly what happens to the scenes; refuse to write over existing files."""
        p = self.result
        splitting = p is not None and not p.error and self.options.scenes == "split"
        self.split_row.setVisible(bool(splitting and p is not None and p.scene_count > 1))
        problem = ""
        if p is None or p.error:
            text = ""
        elif not splitting:
            text = ("Everything comes in as one new, unsaved scene; nothing is written until "
                    "you save it.")
        elif p.scene_count < 2:
            text = "Only one scene has dialogue: it comes in as one new, unsaved scene."
        else:
            targets = self._split_targets()
            folder = targets[0].parent
            text = (f"{p.scene_count} scenes: each is written to its own file in this folder, "
                    f"{targets[0].name} to {targets[-1].name}; the first opens now, the others "
                    "are there for File → Open. Scene headings with no dialogue are left out.")
            existing = [t for t in targets if t.exists()]
            if not folder.is_dir():
                text += f" The folder {folder} will be created."
            if existing:
                problem = (f"{existing[0].name} already exists there ({len(existing)} of the "
                           f"{len(targets)} files do): choose another folder.")
        self.split_note.setText(text + (f" <b style='color:#b3261e'>{html.escape(problem)}</b>"
                                        if problem else ""))
        self.import_button.setEnabled(p is not None and not p.error and not problem)

    def _on_browse_clicked(self) -> None:
        if self.pick_folder is None:
            return
        folder = self.pick_folder("Write the scene files to", Path(self.folder.text()))
        if folder is not None:
            self.folder.setText(str(folder))

    def _on_accepted(self) -> None:
        if self.result is None or self.result.error or not self.import_button.isEnabled():
            return
        self.accept()

    def choice(self) -> ImportChoice:
        targets = self._split_targets()
        return ImportChoice(self.options, targets[0].parent if targets else None)
