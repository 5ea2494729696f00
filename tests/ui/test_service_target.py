"""One source of truth for where requests go (editor.engine.service.resolve_target), in the
window and the command line alike, and a window in sandbox mode that says so plainly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from editor.engine import client
from editor.engine.service import DEFAULT_BASE_URL, open_service, resolve_target
from editor.ui.mainwindow import MainWindow
from tests.support.engine_helpers import running_sandbox
from tests.support.ui_helpers import make_settings, run

KEY = "aio_target_" + "Hp3Nd8Qs1Wk6Zr4T"
SAVED = "https://saved.example"
ENV = "https://test-server.example"


# --- the rule ----------------------------------------------------------------------------------

def test_default_without_anything() -> None:
    t = resolve_target(False, None)
    assert (t.url, t.source, t.sandbox, t.key_source) == (DEFAULT_BASE_URL, "default", False,
                                                          "keyring")
    assert DEFAULT_BASE_URL == client.DEFAULT_BASE_URL
    assert t.describe() == "API in One (https://apiin.one, the default)"


def test_saved_address_beats_the_default() -> None:
    t = resolve_target(False, SAVED + "/")
    assert (t.url, t.source) == (SAVED, "settings")


def test_environment_beats_the_saved_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIINONE_BASE_URL", ENV)
    t = resolve_target(False, SAVED)
    assert (t.url, t.source, t.sandbox) == (ENV, "APIINONE_BASE_URL", False)
    assert t.describe() == f"API in One ({ENV}, from APIINONE_BASE_URL)"


def test_command_line_sandbox_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIINONE_BASE_URL", ENV)
    monkeypatch.setenv("APIINONE_API_KEY", KEY)
    t = resolve_target(True, SAVED)
    assert (t.sandbox, t.source, t.key_source) == (True, "command line", None)
    assert "--sandbox on the command line" in t.describe()


def test_a_saved_sandbox_choice_is_kept_even_with_the_environment_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The one exception to "environment over settings", on the side of not spending.
    monkeypatch.setenv("APIINONE_BASE_URL", ENV)
    t = resolve_target(False, SAVED, saved_sandbox=True)
    assert (t.sandbox, t.source) == (True, "settings")


def test_key_source_environment_then_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_target(False, None).key_source == "keyring"
    monkeypatch.setenv("APIINONE_API_KEY", KEY)
    t = resolve_target(False, None)
    assert t.key_source == "APIINONE_API_KEY"
    assert "APIINONE_API_KEY environment variable" in t.describe_key()
    assert KEY not in t.describe() + t.describe_key()


async def test_the_command_line_service_follows_the_same_rule(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_sandbox(key=KEY) as box:
        monkeypatch.setenv("APIINONE_BASE_URL", box.base_url)
        monkeypatch.setenv("APIINONE_API_KEY", KEY)
        session = await open_service()  # what 'castline render' opens
        try:
            assert str(session.client.base_url) == box.base_url
            assert await session.client.balance() is not None
        finally:
            await session.aclose()


# --- the window ---------------------------------------------------------------------------------

@pytest.fixture
def paid_window(qtbot: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
                ) -> Iterator[MainWindow]:
    settings = make_settings(tmp_path)
    settings.set("service/base_url", SAVED)
    win = MainWindow(settings, sandbox=False, cache_root=tmp_path / "cache")
    qtbot.addWidget(win)
    win.confirm_discard = lambda: True  # type: ignore[method-assign]
    win.show()
    try:
        yield win
    finally:
        qloop.run_until_complete(win.shutdown())


def test_the_window_talks_to_APIINONE_BASE_URL_not_the_saved_address(
        paid_window: MainWindow, qloop: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async def go() -> tuple[str, int]:
        async with running_sandbox(key=KEY) as box:
            monkeypatch.setenv("APIINONE_BASE_URL", box.base_url)
            monkeypatch.setenv("APIINONE_API_KEY", KEY)
            session = await paid_window.render.ensure_service()
            await session.client.balance()
            return str(session.client.base_url), box.stats.balance_checks

    url, asked = run(qloop, go())
    assert url.startswith("http://127.0.0.1:")
    assert asked == 1  # the request really went there


def test_the_window_reopens_its_session_when_the_address_changes(
        paid_window: MainWindow, qloop: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async def go() -> tuple[str, str]:
        async with running_sandbox(key=KEY) as a, running_sandbox(key=KEY) as b:
            monkeypatch.setenv("APIINONE_API_KEY", KEY)
            paid_window.settings.set("service/base_url", a.base_url)
            first = str((await paid_window.render.ensure_service()).client.base_url)
            monkeypatch.setenv("APIINONE_BASE_URL", b.base_url)
            second = str((await paid_window.render.ensure_service()).client.base_url)
            return first, second

    first, second = run(qloop, go())
    assert first != second and second.startswith("http://127.0.0.1:")


def test_the_window_says_where_requests_go(paid_window: MainWindow,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    paid_window.update_costs()
    assert paid_window.target_label.full_text() == f"API in One ({SAVED}, from Settings)"
    assert paid_window.target_label.isVisible()
    monkeypatch.setenv("APIINONE_BASE_URL", ENV)
    monkeypatch.setenv("APIINONE_API_KEY", KEY)
    paid_window.update_costs()
    assert paid_window.target_label.full_text() == f"API in One ({ENV}, from APIINONE_BASE_URL)"
    assert "APIINONE_API_KEY" in paid_window.target_label.toolTip()
    assert not paid_window.sandbox_banner.isVisible()


def test_a_paid_window_shows_no_banner(paid_window: MainWindow) -> None:
    assert not paid_window.sandbox_banner.isVisible()
    assert not paid_window.render.sandbox


def test_a_sandbox_window_shows_the_banner(window: MainWindow) -> None:
    assert window.sandbox_banner.isVisible()
    assert "no credits are spent" in window.sandbox_banner_text.text()
    assert "--sandbox on the command line" in window.target_label.full_text()
    assert window.sandbox_banner.geometry().top() < window.centralWidget().geometry().top()
    # Across the whole window, above the docks, and slim.
    assert window.sandbox_banner.width() >= window.width() - 20
    assert window.sandbox_banner.height() <= 40


def test_the_banner_follows_the_sandbox_setting_without_resizing_the_window(
        paid_window: MainWindow) -> None:
    size = paid_window.size()
    dock_width = paid_window.docks["cast"].width()
    paid_window.settings.set("service/sandbox", True)
    paid_window.update_costs()
    assert paid_window.sandbox_banner.isVisible()
    assert paid_window.size() == size and paid_window.docks["cast"].width() == dock_width
    paid_window.settings.set("service/sandbox", False)
    paid_window.update_costs()
    assert not paid_window.sandbox_banner.isVisible()
    assert paid_window.size() == size


def test_one_click_on_the_banner_opens_settings_on_the_key_field(
        window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from editor.ui.settingsdialog import SettingsDialog

    seen: list[tuple[bool, bool, bool]] = []

    def fake_exec(dialog: SettingsDialog) -> int:  # a modal exec would block the test
        dialog.show()
        seen.append((dialog.focusWidget() is dialog.key, dialog.sandbox.isChecked(),
                     dialog.sandbox.isEnabled()))
        dialog.hide()
        return 0

    monkeypatch.setattr(SettingsDialog, "exec", fake_exec)
    window.sandbox_banner_button.click()
    # On the key field; the command line's --sandbox shown as such (not a box to untick).
    assert seen == [(True, True, False)]


def test_the_settings_dialog_names_the_service_and_an_environment_key(
        paid_window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from editor.ui.settingsdialog import SettingsDialog

    monkeypatch.setenv("APIINONE_BASE_URL", ENV)
    monkeypatch.setenv("APIINONE_API_KEY", KEY)
    dialog = SettingsDialog(paid_window.settings, paid_window.runner, paid_window)
    assert dialog.target_state.text() == f"API in One ({ENV}, from APIINONE_BASE_URL)"
    assert "APIINONE_BASE_URL is set" in dialog.base_url.toolTip()
    assert dialog.key_state.text() == ("Using the key from the APIINONE_API_KEY environment "
                                       "variable; it overrides the keyring.")
    dialog.sandbox.setChecked(True)
    assert dialog.target_state.text().startswith("Sandbox")


def test_banner_screenshot(window: MainWindow) -> None:
    window.resize(1280, 800)
    assert window.grab().save("/tmp/banner.png")
