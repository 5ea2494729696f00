"""Settings: the API key (OS keyring only), service, rendering and budget."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QUrl
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
    QSpinBox,
    QWidget,
)

from editor.engine.client import ServiceClient
from editor.engine.errors import BILLING_URL, ServiceError
from editor.engine.keystore import KeyStoreError, delete_key, get_key, set_key
from editor.ui.settings import SETTINGS, Settings
from editor.ui.tasks import AsyncRunner


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, runner: AsyncRunner, parent: QWidget | None = None) -> None:
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
        test = QPushButton("Test key")
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
        self.sandbox = QCheckBox("Use the built-in sandbox (stand-in voices, no credits)")
        self.sandbox.setChecked(bool(settings.get("service/sandbox")))
        form.addRow("", self.sandbox)
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
        self._epoch = 0  # the newest action's answer wins the status line
        self._act(asyncio.to_thread(get_key), "read key", lambda key: (
            "A key is stored in the system keyring." if key else "No key is stored yet."))

    def _act(self, coro: Any, label: str, describe: Any) -> None:
        self._epoch += 1
        epoch = self._epoch

        def show(text: str) -> None:
            if epoch == self._epoch:
                self.key_state.setText(text)

        self.runner.run(coro, label).success(lambda r: show(describe(r))).failure(
            lambda e: show(str(e) if isinstance(e, ServiceError | KeyStoreError)
                           else f"{label} failed: {e}")).start()

    def _on_forget_clicked(self) -> None:
        self._act(asyncio.to_thread(delete_key), "remove key",
                  lambda ok: "The key was removed." if ok else "No key was stored.")

    def _on_test_clicked(self) -> None:
        typed = self.key.text().strip()

        async def check() -> str:
            key = typed or await asyncio.to_thread(get_key)
            if not key:
                return "Type a key first."
            client = ServiceClient(self.base_url.text().strip() or "https://apiin.one", key)
            try:
                balance = await client.check_key()
            finally:
                await client.aclose()
            return "The key works." + (f" Balance: {balance:,.2f} credits." if balance is not None
                                       else "")

        self.key_state.setText("Asking the service…")
        self._act(check(), "test key", str)

    def _on_accepted(self) -> None:
        self.settings.set("service/base_url", self.base_url.text().strip() or "https://apiin.one")
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
