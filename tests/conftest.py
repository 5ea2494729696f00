"""Shared fixtures: every test runs with its own cache, state and config folders,
and no test touches the user's real keyring or settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.core.scene import Scene

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
