"""The API key in the OS keyring, behind a tiny interface.

Blocking (D-Bus, Keychain, Credential Manager): the editor calls these off the
GUI thread. No event loop is created here.
"""

from __future__ import annotations

import os
from types import ModuleType

SERVICE = "castline"
USERNAME = "apiinone-api-key"
ENV_KEY = "APIINONE_API_KEY"
ENV_BASE_URL = "APIINONE_BASE_URL"


class KeyStoreError(RuntimeError):
    """The keyring cannot be used; the message says why and what to do."""


def _keyring() -> ModuleType:
    import keyring
    import keyring.errors

    return keyring


def _explain(e: Exception) -> KeyStoreError:
    name = type(e).__name__
    if name in ("NoKeyringError",):
        return KeyStoreError(
            "This system has no secure keyring (no Secret Service, Keychain or Credential "
            f"Manager was found). Set the key in the {ENV_KEY} environment variable instead.")
    if name in ("KeyringLocked", "InitError"):
        return KeyStoreError("The system keyring is locked and could not be unlocked. Unlock it "
                             "(log in to the desktop session) and try again.")
    return KeyStoreError(f"The system keyring failed ({name}). Set {ENV_KEY} instead.")


def _check_backend() -> None:
    kr = _keyring()
    backend = kr.get_keyring()
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")):
        raise KeyStoreError(
            "This system has no secure keyring (no Secret Service, Keychain or Credential "
            f"Manager was found). Set the key in the {ENV_KEY} environment variable instead.")


def get_key(*, strict: bool = False) -> str | None:
    """The keyring's key, or None. With ``strict``, a missing keyring raises
    :class:`KeyStoreError` instead of reading as "no key" (``castline key status``)."""
    kr = _keyring()
    try:
        _check_backend()
        value = kr.get_password(SERVICE, USERNAME)
    except KeyStoreError:
        if strict:
            raise
        return None
    except kr.errors.KeyringError as e:
        raise _explain(e) from None
    return value or None


def set_key(key: str) -> None:
    key = key.strip()
    if not key:
        raise KeyStoreError("The key is empty.")
    kr = _keyring()
    _check_backend()
    try:
        kr.set_password(SERVICE, USERNAME, key)
    except kr.errors.KeyringError as e:
        raise _explain(e) from None


def delete_key() -> bool:
    kr = _keyring()
    _check_backend()
    try:
        kr.delete_password(SERVICE, USERNAME)
    except kr.errors.PasswordDeleteError:
        return False
    except kr.errors.KeyringError as e:
        raise _explain(e) from None
    return True


def key_from_environment() -> str | None:
    value = os.environ.get(ENV_KEY, "").strip()
    return value or None


def resolve_key() -> str | None:
    """The environment's key, else the keyring's, else None."""
    return key_from_environment() or get_key()
