"""Open the speech service a render talks to: the real one, or the in-process sandbox."""

from __future__ import annotations

import os
from dataclasses import dataclass

from editor.engine.client import DEFAULT_BASE_URL, ServiceClient
from editor.engine.errors import NoApiKey
from editor.engine.keystore import ENV_BASE_URL, resolve_key
from editor.engine.sandbox import Sandbox


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
    """The sandbox when asked (or when no key is given and ``key`` is ``""``); else the API."""
    if sandbox:
        box = await Sandbox(latency=latency).start()
        return ServiceSession(ServiceClient(box.base_url, box.key), box)
    url = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    api_key = key if key is not None else resolve_key()
    if not api_key:
        raise NoApiKey
    return ServiceSession(ServiceClient(url, api_key, callback_url=callback_url))
