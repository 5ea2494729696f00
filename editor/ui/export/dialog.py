"""The export dialog: where, what, which format, how per-line files are named; progress."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor.engine.audio import ExportError
from editor.engine.export import DEFAULT_NAME, FORMATS, WHAT, check_template, file_name, safe_name

LABELS = {
    "mix": ("The scene", "One file: the chosen takes with gaps and pauses"),
    "lines": ("One file per line", "Named by the template below (game voice-over)"),
    "stems": ("Speaker stems", "One file per speaker on the scene's timeline (podcast editing)"),
    "srt": ("Subtitles (SRT)", "Timed from the assembled audio"),
    "vtt": ("Subtitles (WebVTT)", "Timed from the assembled audio, with speakers"),
    "labels": ("Audacity labels", "A label track: File > Import > Labels in Audacity"),
    "manifest": ("Manifest (CSV + JSON)", "Every line: file, start, duration, take, hash"),
}


@dataclass(frozen=True, slots=True)
class ExportOptions:
    folder: Path
    what: tuple[str, ...]
    fmt: str
    name: str
    base: str | None = None  # the scene's file name without suffix, unless given


class ExportDialog(QDialog):
    export_requested = Signal(object)  # ExportOptions
    cancel_requested = Signal()

    def __init__(self, folder: Path, base: str, what: list[str], fmt: str, name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Audio")
        self.base = safe_name(base)
        self.folder = QLineEdit(str(folder))
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(browse)
        self.boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for i, key in enumerate(WHAT):
            label, tip = LABELS[key]
            box = QCheckBox(label)
            box.setToolTip(tip)
            box.setChecked(key in what)
            box.toggled.connect(lambda _c: self._update())
            self.boxes[key] = box
            grid.addWidget(box, i // 2, i % 2)
        self.fmt = QComboBox()
        for f in FORMATS:
            self.fmt.addItem(f.upper(), f)
        self.fmt.setCurrentIndex(max(0, self.fmt.findData(fmt)))
        self.fmt.currentIndexChanged.connect(lambda _i: self._update())
        self.name = QLineEdit(name or DEFAULT_NAME)
        self.name.setToolTip("Fields: {index} {id} {speaker} {voice} {take} {title}; "
                             "{index:03} pads the number to three digits")
        self.name.textChanged.connect(lambda _t: self._update())
        self.folder.textChanged.connect(lambda _t: self._update())
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        form = QFormLayout()
        folder_label = QLabel("&Folder")
        folder_label.setBuddy(self.folder)
        form.addRow(folder_label, where)
        form.addRow("&Format", self.fmt)
        form.addRow("Line &names", self.name)
        form.addRow("", self.preview)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setVisible(False)  # shown once an export starts
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("&Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.close_button.clicked.connect(self._on_close_clicked)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Write</b>"))
        layout.addLayout(grid)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.running = False
        self.resize(560, 0)
        self._update()

    def options(self) -> ExportOptions:
        return ExportOptions(Path(self.folder.text()).expanduser(),
                             tuple(k for k, b in self.boxes.items() if b.isChecked()),
                             str(self.fmt.currentData()), self.name.text())

    def _update(self) -> None:
        opts = self.options()
        problem = "" if opts.what else "Choose at least one thing to write."
        if "lines" in opts.what:
            try:
                check_template(opts.name)
                sample = file_name(opts.name, opts.fmt, index=7, id="line-7", speaker="MARA",
                                   voice="Sarah", take="take-2", title=self.base)
                self.preview.setText(f"e.g. {sample}")
            except ExportError as e:
                problem = str(e)
                self.preview.setText("")
        else:
            self.preview.setText(f"The scene: {self.base}.{opts.fmt}" if "mix" in opts.what else "")
        self.name.setEnabled("lines" in opts.what and not self.running)
        self.export_button.setEnabled(not problem and not self.running)
        if not problem and not opts.folder.exists():
            problem_free = f"The folder {opts.folder} will be created."
        else:
            problem_free = ""
        if not self.running:
            self.status.setText(problem or problem_free)

    def _on_browse_clicked(self) -> None:
        from editor.ui.prompter import start_folder

        name = QFileDialog.getExistingDirectory(self, "Export to folder",
                                                str(start_folder(Path(self.folder.text()))))
        if name:
            self.folder.setText(name)

    def _on_export_clicked(self) -> None:
        opts = self.options()
        if opts.folder.exists() and not opts.folder.is_dir():
            self.status.setText(f"{opts.folder} is a file, not a folder.")
            return
        self.export_requested.emit(opts)  # a missing folder is created

    def _on_close_clicked(self) -> None:
        if self.running:
            self.cancel_requested.emit()
        else:
            self.reject()

    def set_running(self, running: bool) -> None:
        self.running = running
        if running:
            self.progress.setValue(0)
            self.progress.setVisible(True)
        self.close_button.setText("Cancel" if running else "Close")
        for w in (self.folder, self.fmt, *self.boxes.values()):
            w.setEnabled(not running)
        self._update()

    def set_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setValue(round(100 * done / max(1, total)))
        self.status.setText(text)

    def finished_with(self, text: str) -> None:
        self.set_running(False)
        self.status.setText(text)
