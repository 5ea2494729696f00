"""Which speech service a render talks to, and opening it: the real one, or the sandbox.

:func:`resolve_target` is the one place that decides where requests go, for the window and
the command line alike. The usual precedence, most specific first:

1. the command line: ``--sandbox`` (the built-in stand-in, never spends);
2. the environment: ``APIINONE_BASE_URL``;
3. the saved settings: the window's "use the sandbox" box, then its service address;
4. the default, ``https://apiin.one``.

One exception, on the side of not spending: a saved "use the sandbox" choice is kept even
when ``APIINONE_BASE_URL`` is set. It can only stop requests from costing credits, and a
writer who ticked it in Settings expects the window to obey it.

The key: ``APIINONE_API_KEY`` if set, else the OS keyring (the sandbox needs none).

This module is imported by the window at start-up, so the network stack (``httpx``, the
client, the sandbox) loads only when a service is opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from editor.engine.keystore import ENV_BASE_URL, ENV_KEY, key_from_environment

if TYPE_CHECKING:
    from editor.engine.client import ServiceClient
    from editor.engine.sandbox import Sandbox

DEFAULT_BASE_URL = "https://apiin.one"  # the same as editor.engine.client.DEFAULT_BASE_URL

Source = Literal["command line", "APIINONE_BASE_URL", "settings", "default"]
KeySource = Literal["APIINONE_API_KEY", "keyring"]


@dataclass(frozen=True, slots=True)
class Target:
    """Where requests go and why. ``url`` is the API's address (unused in the sandbox)."""

    url: str
    source: Source
    key_source: KeySource | None  # None: no key is needed (the sandbox)
    sandbox: bool

    @property
    def name(self) -> str:
        return "Sandbox" if self.sandbox else "API in One"

    def describe(self) -> str:
        """One line for a writer, e.g. 'API in One (https://apiin.one, from APIINONE_BASE_URL)'."""
        if self.sandbox:
            why = {"command line": "--sandbox on the command line",
                   "settings": "the sandbox is chosen in Settings"}.get(self.source, self.source)
            return f"Sandbox: stand-in voices, no credits spent ({why})"
        where = {"command line": "from the command line", ENV_BASE_URL: f"from {ENV_BASE_URL}",
                 "settings": "from Settings", "default": "the default"}[self.source]
        return f"API in One ({self.url}, {where})"

    def describe_key(self) -> str:
        if self.key_source == ENV_KEY:
            return (f"Using the key from the {ENV_KEY} environment variable; it overrides the "
                    "keyring.")
        if self.key_source == "keyring":
            return "The key comes from the system keyring."
        return "The sandbox needs no key."


def resolve_target(sandbox_flag: bool, saved_url: str | None = None, *,
                   saved_sandbox: bool = False) -> Target:
    """Where requests go: ``sandbox_flag`` is ``--sandbox`` from the command line;
    ``saved_url``/``saved_sandbox`` are the window's saved settings (None/False for the CLI,
    which has none). Reads the environment; never blocks (the keyring is not opened)."""
    env_url = os.environ.get(ENV_BASE_URL, "").strip()
    key_source: KeySource = "APIINONE_API_KEY" if key_from_environment() else "keyring"
    if sandbox_flag:
        return Target(env_url or saved_url or DEFAULT_BASE_URL, "command line", None, True)
    if saved_sandbox:
        return Target(env_url or saved_url or DEFAULT_BASE_URL, "settings", None, True)
    if env_url:
        return Target(env_url.rstrip("/"), "APIINONE_BASE_URL", key_source, False)
    saved = (saved_url or "").strip()
    if saved:
        return Target(saved.rstrip("/"), "settings", key_source, False)
    return Target(DEFAULT_BASE_URL, "default", key_source, False)


@dataclass(slots=True)
class ServiceSession:
    client: ServiceClient
    sandbox: Sandbox | None = None

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.sandbox is not None:
            await self.sandbox.close()


async def open_service(*, sandbox: bool = False, base_url: str | None = None,
                       key: str | None = None, latency: float = 0.4,
                       callback_url: str | None = None) -> ServiceSession:
    """The sandbox when asked; else the API at ``base_url`` (default: :func:`resolve_target`'s
    choice without saved settings) with ``key`` (default: the environment's, else the keyring's).
    """
    from editor.engine.client import ServiceClient
    from editor.engine.errors import NoApiKey
    from editor.engine.keystore import resolve_key
    from editor.engine.sandbox import Sandbox

    if sandbox:
        latency = float(os.environ.get("CASTLINE_SANDBOX_LATENCY", latency))  # benchmarks
        box = await Sandbox(latency=latency).start()
        return ServiceSession(ServiceClient(box.base_url, box.key), box)
    url = base_url or resolve_target(False).url
    api_key = key if key is not None else resolve_key()
    if not api_key:
        raise NoApiKey
    return ServiceSession(ServiceClient(url, api_key, callback_url=callback_url))


async def open_target(target: Target, *, callback_url: str | None = None, latency: float = 0.4,
                      no_key: str | None = None) -> ServiceSession:
    """The one place that opens the service ``target`` names and picks its key: the
    environment's, else the keyring's (read in a worker thread: a keyring may block).
    ``no_key``: what to say when there is none (the window points at Settings)."""
    import asyncio

    from editor.engine.errors import NoApiKey, ServiceError
    from editor.engine.keystore import KeyStoreError, resolve_key

    if target.sandbox:
        return await open_service(sandbox=True, latency=latency)
    try:
        key = await asyncio.to_thread(resolve_key)
    except KeyStoreError as e:
        raise ServiceError(str(e)) from None
    if not key:
        raise ServiceError(no_key) if no_key else NoApiKey
    return await open_service(base_url=target.url, key=key, callback_url=callback_url)
