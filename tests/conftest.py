"""Shared fixtures: every test runs with its own cache, state and config folders,
and no test touches the user's real keyring or settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PULSE_LATENCY_MSEC", "30")

from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.core.scene import Scene

pytest_plugins = ["tests.support.ui_helpers"]  # the editor-window fixtures

DATA = Path(__file__).parent / "data"
SAMPLE = "samples/night-ferry.castline"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                  ) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CASTLINE_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("CASTLINE_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "xdg-state"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.delenv("APIINONE_API_KEY", raising=False)
    monkeypatch.delenv("APIINONE_BASE_URL", raising=False)
    return home


@pytest.fixture
def sample_scene() -> Scene:
    return sceneio.loads(read_resource_text(SAMPLE), "night-ferry.castline")


@pytest.fixture
def sample_path(tmp_path: Path) -> Path:
    p = tmp_path / "night-ferry.castline"
    p.write_text(read_resource_text(SAMPLE), encoding="utf-8")
    return p


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a ``castline`` subprocess: this test's folders, no keyring."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _collect_garbage_per_test():  # type: ignore[no-untyped-def]
    # Leaked sockets then warn in the test that leaked them, not in a later one.
    yield
    import gc

    gc.collect()


@pytest.fixture(scope="session", autouse=True)
def null_audio_sink() -> Iterator[str | None]:
    """A PulseAudio server of our own with a null sink, started before QtMultimedia loads.

    Only the server this fixture started is stopped. Without pulseaudio on the machine the
    app runs silent, and the playback tests say so (they fail rather than skip).
    """
    from tests.support.pulse import null_sink

    with null_sink() as runtime:
        yield runtime
