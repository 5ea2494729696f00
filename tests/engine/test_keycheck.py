"""Test key tells the truth: the one key check (editor/engine/keycheck.py) over real loopback
HTTP, ``castline key test|status`` through the CLI entry point, and Settings → Test key."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from editor.cli import (
    EXIT_KEY_REJECTED,
    EXIT_KEYRING,
    EXIT_NO_KEY,
    EXIT_UNREACHABLE,
    EXIT_UNVERIFIED,
    EXIT_USAGE,
    main,
)
from editor.engine import keycheck
from editor.engine.errors import InsecureURL
from editor.engine.httpserver import HttpServer, Request, Response
from editor.engine.keycheck import Outcome
from editor.engine.sandbox import Sandbox
from tests.conftest import subprocess_env
from tests.support.engine_helpers import running_sandbox
from tests.support.ui_helpers import run
from tests.support.waiting import wait_until

KEY = "aio_keycheck_" + "Zq8Wv3Lr5Tn1Xy7Pm2Hd"
WRONG = "aio_not_the_key_" + "Bf4Kg9Jm0Sa6"
Handler = Callable[[Request], Awaitable[Response]]


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


class NoBalanceService:
    """An API in One without balance endpoints: it checks the key first (401), then says
    what exists (404). Records every request it sees."""

    def __init__(self, key: str = KEY) -> None:
        self.key = key
        self.seen: list[Request] = []

    async def __call__(self, request: Request) -> Response:
        self.seen.append(request)
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return _json(401, {"error": {"message": "Invalid API key"}})
        return _json(404, {"error": {"message": f"No route {request.path}"}})


async def not_found_everywhere(request: Request) -> Response:
    """A web server that is not the API: 404 to every request, key or not."""
    return Response(404, b"<html><body>Not Found</body></html>", {"Content-Type": "text/html"})


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    server = HttpServer(handler)
    await server.start()
    try:
        yield server.url
    finally:
        await server.close()


def closed_port_url() -> str:
    with socket.socket() as s:  # bound, never listening, closed: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def no_key_in(check: keycheck.KeyCheck, key: str) -> None:
    assert key not in check.message and key not in check.detail


# --- the check -------------------------------------------------------------------------------

async def test_a_key_the_sandbox_accepts_works_with_its_balance() -> None:
    async with running_sandbox(key=KEY, credits=321.5) as box:
        check = await keycheck.check_key(box.base_url, KEY)
        assert check.outcome is Outcome.WORKS and check.accepted
        assert check.balance == 321.5
        assert "works" in check.message and "321.50" in check.message
        assert box.stats.balance_checks == 1 and box.stats.key_in_url == 0
        no_key_in(check, KEY)


async def test_a_key_the_sandbox_refuses_is_rejected() -> None:
    async with running_sandbox(key=KEY) as box:
        check = await keycheck.check_key(box.base_url, WRONG)
    assert check.outcome is Outcome.REJECTED and not check.accepted
    assert "rejected" in check.message and "401" in check.message
    no_key_in(check, WRONG)


async def test_offline_is_unreachable_never_works() -> None:
    check = await keycheck.check_key(closed_port_url(), KEY)
    assert check.outcome is Outcome.UNREACHABLE and not check.accepted
    assert check.message.startswith("Could not reach the service")
    assert "ConnectError" in check.detail
    assert "works" not in check.message
    no_key_in(check, KEY)


async def test_a_service_that_never_answers_is_unreachable_within_the_deadline() -> None:
    async def stall(request: Request) -> Response:
        return Response(200, b"{}", delay=30)

    async with serving(stall) as url:
        started = time.monotonic()
        check = await keycheck.check_key(url, KEY, timeout=0.5)
        assert time.monotonic() - started < 5
    assert check.outcome is Outcome.UNREACHABLE
    assert "did not answer in time" in check.message


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_a_service_in_trouble_is_unreachable_not_a_verdict_on_the_key(status: int) -> None:
    async def trouble(request: Request) -> Response:
        return _json(status, {"error": "overloaded"})

    async with serving(trouble) as url:
        check = await keycheck.check_key(url, KEY)
    assert check.outcome is Outcome.UNREACHABLE
    assert f"HTTP {status}" in check.message and "overloaded" in check.message


async def test_balance_endpoints_missing_but_key_let_through_is_accepted_without_balance() -> None:
    service = NoBalanceService()
    async with serving(service) as url:
        check = await keycheck.check_key(url, KEY)
    assert check.outcome is Outcome.ACCEPTED_NO_BALANCE and check.accepted
    assert check.balance is None
    assert "accepted" in check.message and "balance" in check.message
    # Both balance endpoints, then the unknown task without and with the key.
    paths = [(r.path, "authorization" in r.headers) for r in service.seen]
    assert paths[:2] == [("/api/v1/credits", True), ("/api/v1/user/credits", True)]
    assert paths[2][0].startswith("/api/v1/tasks/castline-keycheck-") and not paths[2][1]
    assert paths[3] == (paths[2][0], True)
    assert all(KEY not in r.path and KEY not in json.dumps(r.query) for r in service.seen)


async def test_balance_endpoints_missing_and_the_key_refused_is_rejected() -> None:
    async with serving(NoBalanceService()) as url:
        check = await keycheck.check_key(url, WRONG)
    assert check.outcome is Outcome.REJECTED


async def test_an_address_that_answers_404_to_everything_proves_nothing() -> None:
    # Without the keyless control request this would read as "accepted" for any key.
    async with serving(not_found_everywhere) as url:
        check = await keycheck.check_key(url, WRONG)
    assert check.outcome is Outcome.UNVERIFIED and not check.accepted
    assert "works" not in check.message and "accepted" not in check.message


async def test_the_key_never_follows_a_redirect_to_another_host() -> None:
    elsewhere: list[Request] = []

    async def other_host(request: Request) -> Response:
        elsewhere.append(request)
        return _json(200, {"credits": 5})

    async with serving(other_host) as other:
        async def redirect(request: Request) -> Response:
            return Response(302, b"", {"Location": f"{other}{request.path}"})

        async with serving(redirect) as url:
            check = await keycheck.check_key(url, KEY)
    assert elsewhere == []
    assert check.outcome is Outcome.UNVERIFIED


async def test_a_key_is_never_sent_over_plain_http_off_loopback() -> None:
    with pytest.raises(InsecureURL):
        await keycheck.check_key("http://example.com", KEY)


# --- castline key test / status ----------------------------------------------------------------

@contextmanager
def served_in_a_thread(make: Callable[[], Awaitable[str]], close: Callable[[], Awaitable[None]]
                       ) -> Iterator[str]:
    """A server on its own loop in a thread, so the CLI's asyncio.run can talk to it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(make(), loop).result(10)
    finally:
        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@contextmanager
def sandbox_thread(key: str = KEY) -> Iterator[Sandbox]:
    box = Sandbox(key, latency=0.1, use_espeak=False)

    async def make() -> str:
        await box.start()
        return box.base_url

    with served_in_a_thread(make, box.close):
        yield box


@contextmanager
def server_thread(handler: Handler) -> Iterator[str]:
    server = HttpServer(handler)

    async def make() -> str:
        await server.start()
        return server.url

    with served_in_a_thread(make, server.close) as url:
        yield url


def castline_key(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["key", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_key_test_works(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
                            ) -> None:
    with sandbox_thread() as box:
        monkeypatch.setenv("APIINONE_BASE_URL", box.base_url)
        monkeypatch.setenv("APIINONE_API_KEY", KEY)
        status, out, err = castline_key(capsys, "test")
    assert status == 0, err
    assert "The key works" in out and "APIINONE_API_KEY" in out and box.base_url in out
    assert KEY not in out + err


@pytest.mark.parametrize(("where", "key", "expected", "words"), [
    ("sandbox", WRONG, EXIT_KEY_REJECTED, "rejected this key"),
    ("closed", KEY, EXIT_UNREACHABLE, "Could not reach the service"),
    ("nobalance", KEY, 0, "accepted the key"),
    ("nobalance", WRONG, EXIT_KEY_REJECTED, "rejected this key"),
    ("notapi", KEY, EXIT_UNVERIFIED, "not in a way that shows"),
    ("insecure", KEY, EXIT_USAGE, "plain http is only allowed"),
])
def test_cli_key_test_exit_codes(capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch, where: str, key: str,
                                 expected: int, words: str) -> None:
    monkeypatch.setenv("APIINONE_API_KEY", key)
    with sandbox_thread() as box, server_thread(NoBalanceService()) as nobalance, \
            server_thread(not_found_everywhere) as notapi:
        url = {"sandbox": box.base_url, "closed": closed_port_url(), "nobalance": nobalance,
               "notapi": notapi, "insecure": "http://example.com"}[where]
        monkeypatch.setenv("APIINONE_BASE_URL", url)
        status, out, err = castline_key(capsys, "test")
    assert status == expected, out + err
    assert words in (out if expected == 0 else err)
    assert key not in out + err
    if expected:
        assert err.startswith("castline: ") and err.strip().count("\n") == 0


def test_cli_key_test_without_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = castline_key(capsys, "test")  # no env key, no keyring (conftest)
    assert status == EXIT_NO_KEY
    assert "No key is set" in err and "castline key set" in err


def test_cli_key_status_without_a_keyring_is_not_success(capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    # conftest: keyring's null backend, as on a machine with no keyring; no env key.
    status, _out, err = castline_key(capsys, "status")
    assert status == EXIT_KEYRING
    assert "no secure keyring" in err and "APIINONE_API_KEY" in err


def test_cli_key_status_with_a_key_in_the_environment(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIINONE_API_KEY", KEY)
    status, out, err = castline_key(capsys, "status")
    assert status == 0
    assert "APIINONE_API_KEY environment variable" in out
    assert KEY not in out + err


def test_cli_key_help_documents_the_exit_codes() -> None:
    p = subprocess.run([sys.executable, "-m", "editor", "key", "--help"], capture_output=True,
                       text=True, env=subprocess_env(), timeout=60, check=False)
    assert p.returncode == 0
    for line in ("0  status: a key is set; test: the service accepted the key",
                 f"{EXIT_NO_KEY}  no key is set", f"{EXIT_KEY_REJECTED}  test: the service rejected",
                 f"{EXIT_UNREACHABLE}  test: the service could not be reached",
                 f"{EXIT_KEYRING}  the system keyring is unavailable"):
        assert line in p.stdout


STATUS_SCRIPT = """
set -u
echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
castline() { "$PY" -m editor "$@"; }
castline key status; echo "rc=$?"
printf '%s\\n' "$KEY" | castline key set >/dev/null; echo "set=$?"
castline key status; echo "rc=$?"
castline key delete >/dev/null
castline key status; echo "rc=$?"
"""


def test_cli_key_status_in_a_real_keyring(tmp_path: Path) -> None:
    for tool in ("dbus-run-session", "gnome-keyring-daemon"):
        assert shutil.which(tool), f"{tool} is needed (bash packaging/dev test installs it)"
    home = tmp_path / "home"
    home.mkdir()
    env = subprocess_env(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
                         XDG_CONFIG_HOME=str(home / ".config"), PY=sys.executable, KEY=KEY)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    p = subprocess.run(["dbus-run-session", "--", "bash", "-c", STATUS_SCRIPT], env=env,
                       capture_output=True, text=True, timeout=90, check=False,
                       cwd=Path(__file__).parents[2])
    lines = p.stdout.splitlines()
    assert [ln for ln in lines if ln.startswith(("rc=", "set="))] == \
        ["rc=1", "set=0", "rc=0", "rc=1"], p.stdout + p.stderr[-2000:]
    assert "No key is set" in lines[0]
    assert "A key is stored in the system keyring." in p.stdout
    assert KEY not in p.stdout + p.stderr


# --- Settings → Test key -----------------------------------------------------------------------

def _test_in_dialog(window: Any, qloop: Any, url: str, typed: str) -> str:
    from editor.ui.settingsdialog import SettingsDialog

    dialog = SettingsDialog(window.settings, window.runner, window)
    dialog.base_url.setText(url)
    dialog.key.setText(typed)

    async def go() -> None:
        dialog.test_button.click()
        assert not dialog.test_button.isEnabled()  # one check at a time
        await wait_until(lambda: not window.runner.busy, 60, "the key test")

    run(qloop, go())
    assert dialog.test_button.isEnabled()
    return dialog.key_state.text()


def test_settings_test_key_offline_says_so(window: Any, qloop: Any) -> None:
    text = _test_in_dialog(window, qloop, closed_port_url(), KEY)
    assert text.startswith("Could not reach the service")
    assert "works" not in text and KEY not in text


def test_settings_test_key_on_a_service_without_balance(window: Any, qloop: Any) -> None:
    async def start() -> tuple[HttpServer, str]:
        server = HttpServer(NoBalanceService())
        await server.start()
        return server, server.url

    server, url = run(qloop, start())
    try:
        text = _test_in_dialog(window, qloop, url, KEY)
        assert "accepted the key" in text and "works" not in text
        text = _test_in_dialog(window, qloop, url, WRONG)
        assert "rejected this key" in text
    finally:
        run(qloop, server.close())


def test_settings_test_key_with_the_sandbox_key_works(window: Any, qloop: Any) -> None:
    box = run(qloop, Sandbox(KEY, credits=77, use_espeak=False).start())
    try:
        text = _test_in_dialog(window, qloop, box.base_url, KEY)
    finally:
        run(qloop, box.close())
    assert text == "The key works. Balance: 77.00 credits."


def test_settings_shows_a_key_from_the_environment(window: Any, qloop: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from editor.ui.settingsdialog import SettingsDialog

    monkeypatch.setenv("APIINONE_API_KEY", KEY)
    dialog = SettingsDialog(window.settings, window.runner, window)
    text = dialog.key_state.text()
    assert "APIINONE_API_KEY environment variable" in text and "overrides the keyring" in text
    assert KEY not in text


# --- bash packaging/dev run: sandbox for whoever has no key ----------------------------------

FAKE_CASTLINE = """#!/bin/sh
# 'key ...' is the real command; the editor itself only reports how it was started.
if [ "$1" = key ] && [ -n "${LIE:-}" ]; then echo "$LIE"; exit 1; fi
if [ "$1" = key ]; then exec "$REAL_PYTHON" -m editor "$@"; fi
echo "editor started with: $*"
"""


def dev_run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``bash packaging/dev run`` with a stand-in venv (its ``castline key`` is the real one)
    and every system package reported installed, so nothing is installed for the test."""
    import hashlib

    root = Path(__file__).parents[2]
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    castline = venv / "bin" / "castline"
    castline.write_text(FAKE_CASTLINE)
    castline.chmod(0o755)
    (venv / ".castline-").write_text(hashlib.sha256((root / "pyproject.toml").read_bytes())
                                     .hexdigest() + "\n")
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    (tools / "dpkg-query").write_text("#!/bin/sh\nprintf 'install ok installed'\n")
    (tools / "dpkg-query").chmod(0o755)
    full = subprocess_env(CASTLINE_VENV=str(venv), CASTLINE_PYTHON=sys.executable,
                          REAL_PYTHON=sys.executable, PYTHONPATH=str(root), **env)
    full["PATH"] = f"{tools}:{full['PATH']}"
    return subprocess.run(["bash", str(root / "packaging" / "dev"), "run", "scene.castline"],
                          env=full, capture_output=True, text=True, timeout=120, check=False,
                          cwd=tmp_path)


def test_dev_run_without_a_key_starts_the_sandbox(tmp_path: Path) -> None:
    # No env key, no keyring: 'castline key status' prints "No key is set…" (which the old
    # grep for "is stored" would have taken for a key) and exits non-zero.
    p = dev_run(tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "editor started with: scene.castline --sandbox"
    assert "using the built-in sandbox" in p.stderr


def test_dev_run_with_a_key_starts_the_paid_service(tmp_path: Path) -> None:
    p = dev_run(tmp_path, APIINONE_API_KEY=KEY)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "editor started with: scene.castline"
    assert KEY not in p.stdout + p.stderr


def test_dev_run_decides_from_the_exit_status_not_the_words(tmp_path: Path) -> None:
    p = dev_run(tmp_path, LIE="A key is stored in the system keyring.")  # but exits 1
    assert p.stdout.strip() == "editor started with: scene.castline --sandbox"
