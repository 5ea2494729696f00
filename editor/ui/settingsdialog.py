"""Settings: the API key (OS keyring only), service, rendering and budget."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from editor.engine.errors import BILLING_URL, ServiceError
from editor.engine.keystore import (
    ENV_BASE_URL,
    ENV_KEY,
    KeyStoreError,
    delete_key,
    get_key,
    key_from_environment,
    set_key,
)
from editor.engine.service import DEFAULT_BASE_URL, Target, resolve_target
from editor.ui.settings import SETTINGS, Settings
from editor.ui.tasks import AsyncRunner


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, runner: AsyncRunner, parent: QWidget | None = None,
                 *, command_line_sandbox: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.runner = runner
        form = QFormLayout(self)

        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("aio_… (kept in the system keyring, nowhere else)")
        self.key_state = QLabel("Checking the keyring…")
        self.key_state.setWordWrap(True)
        test = self.test_button = QPushButton("Test key")
        test.setToolTip("Ask the service whether it accepts the key (free). With no key typed, "
                        "tests the key Castline uses.")
        test.clicked.connect(self._on_test_clicked)
        forget = QPushButton("Remove")
        forget.clicked.connect(self._on_forget_clicked)
        row = QHBoxLayout()
        row.addWidget(self.key, 1)
        row.addWidget(test)
        row.addWidget(forget)
        form.addRow("API key:", row)
        form.addRow("", self.key_state)
        credits = QLabel(f'<a href="{BILLING_URL}">Get credits…</a>')
        credits.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        form.addRow("", credits)

        self.base_url = QLineEdit(str(settings.get("service/base_url")))
        form.addRow("Service address:", self.base_url)
        if os.environ.get(ENV_BASE_URL, "").strip():
            self.base_url.setToolTip(f"{ENV_BASE_URL} is set: it wins over this address while "
                                     "it is.")
        self.command_line_sandbox = command_line_sandbox
        self.sandbox = QCheckBox("Use the built-in sandbox (stand-in voices, no credits)")
        self.sandbox.setChecked(bool(settings.get("service/sandbox")) or command_line_sandbox)
        if command_line_sandbox:
            self.sandbox.setEnabled(False)
            self.sandbox.setToolTip("Castline was started with --sandbox; start it without to "
                                    "use the service.")
        form.addRow("", self.sandbox)
        self.target_state = QLabel()
        self.target_state.setWordWrap(True)
        form.addRow("Requests go to:", self.target_state)
        self.base_url.textChanged.connect(self._show_target)
        self.sandbox.toggled.connect(self._show_target)
        self._show_target()
        self.jobs = QSpinBox()
        self.jobs.setRange(1, 16)
        self.jobs.setValue(int(settings.get("render/jobs")))
        form.addRow("Parallel requests:", self.jobs)
        self.gap = QSpinBox()
        self.gap.setRange(0, 10_000)
        self.gap.setSuffix(" ms")
        self.gap.setValue(int(settings.get("render/gap_ms")))
        form.addRow("Gap between lines:", self.gap)
        self.budget = QDoubleSpinBox()
        self.budget.setRange(0, 1_000_000)
        self.budget.setSuffix(" credits")
        self.budget.setValue(float(settings.get("render/budget")))
        self.budget.setToolTip(SETTINGS["render/budget"].description)
        form.addRow("Ask before renders over:", self.budget)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._hold_still(form)
        self._epoch = 0  # the newest action's answer wins the status line
        if key_from_environment():
            self.key_state.setText(self.target().describe_key())
        else:
            self._act(asyncio.to_thread(get_key), "read key", lambda key: (
                "A key is stored in the system keyring." if key else "No key is stored yet."))

    def _hold_still(self, form: QFormLayout) -> None:
        """A layout that neither clips nor jumps: the answers of Test key and Requests go to
        get room for three lines each from the start, fields keep their width, and the dialog
        is one fixed size (a longer answer wraps inside its room, whole in the tooltip)."""
        lines = self.fontMetrics().lineSpacing()
        for label, rows in ((self.key_state, 3), (self.target_state, 3)):
            label.setFixedHeight(rows * lines)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.key.setMinimumWidth(self.fontMetrics().horizontalAdvance("M" * 24))
        self.base_url.setMinimumWidth(self.fontMetrics().horizontalAdvance("M" * 24))
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        width = max(560, form.sizeHint().width())
        self.setFixedSize(width, form.sizeHint().height() + lines)
        for label in (self.key_state, self.target_state):
            label.setWordWrap(True)
            label.setMaximumWidth(width - 2 * lines - self.fontMetrics().horizontalAdvance(
                "Ask before renders over:"))

    def target(self) -> Target:
        """Where requests would go with the choices in this dialog (the environment and the
        command line still win: see editor.engine.service.resolve_target)."""
        return resolve_target(self.command_line_sandbox, self.base_url.text(),
                              saved_sandbox=self.sandbox.isChecked())

    def _show_target(self) -> None:
        self.target_state.setText(self.target().describe())

    def focus_key(self) -> None:
        """Open on the key field (the sandbox banner's "Add API key…")."""
        self.key.setFocus()

    def _act(self, coro: Any, label: str, describe: Any, done: Any = None) -> None:
        self._epoch += 1
        epoch = self._epoch

        def show(text: str) -> None:
            if done is not None:
                done()
            if epoch == self._epoch:
                self.key_state.setText(text)
                self.key_state.setToolTip(text)  # whole, should it run past its three lines

        self.runner.run(coro, label).success(lambda r: show(describe(r))).failure(
            lambda e: show(str(e) if isinstance(e, ServiceError | KeyStoreError)
                           else f"{label} failed: {e}")).start()

    def _on_forget_clicked(self) -> None:
        self._act(asyncio.to_thread(delete_key), "remove key",
                  lambda ok: "The key was removed." if ok else "No key was stored.")

    def _on_test_clicked(self) -> None:
        """The one key check (editor/engine/keycheck.py), on the app's event loop: the request
        is asynchronous and the keyring is read on a worker thread, so the window stays live."""
        from editor.engine.keycheck import check_key

        typed = self.key.text().strip()
        env_key = key_from_environment()
        # The address the key would be used with; the sandbox's is no test of a real key.
        url = resolve_target(False, self.base_url.text()).url
        note = (f" Note: {ENV_KEY} is set, so Castline uses that key, not the one typed here."
                if typed and env_key else "")

        async def check() -> str:
            key = typed or env_key or await asyncio.to_thread(get_key)
            if not key:
                return "Type a key first (none is stored, and " + ENV_KEY + " is not set)."
            result = await check_key(url, key)
            return result.message + note

        self.key_state.setText(f"Asking the service at {url}…")
        self.test_button.setEnabled(False)
        self._act(check(), "test key", str, done=lambda: self.test_button.setEnabled(True))

    def _on_accepted(self) -> None:
        self.settings.set("service/base_url", self.base_url.text().strip() or DEFAULT_BASE_URL)
        self.settings.set("service/sandbox", self.sandbox.isChecked())
        self.settings.set("render/jobs", self.jobs.value())
        self.settings.set("render/gap_ms", self.gap.value())
        self.settings.set("render/budget", self.budget.value())
        typed = self.key.text().strip()
        if not typed:
            self.accept()
            return

        def done(_: object) -> str:
            self.key.clear()
            self.accept()
            return "The key is stored in the system keyring."

        self._act(asyncio.to_thread(set_key, typed), "store key", done)
