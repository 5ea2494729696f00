"""Model, language, voice and tag tables, read from the package's resources.

Prices and limits live in data so that a new model on the same endpoint is a
change to ``resources/models.json``, not to code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, lru_cache
from importlib import resources
from typing import Any

DEFAULT_MODEL = "elevenlabs-v3"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    label: str
    min_credits: Fraction
    credits_per_1000_chars: Fraction
    max_chars: int
    max_voices: int

    def request_cost(self, characters: int) -> Fraction:
        """What one request of ``characters`` costs: the rate, but at least the minimum."""
        return request_cost(characters, self)


@lru_cache(maxsize=4096)
def request_cost(characters: int, info: ModelInfo) -> Fraction:
    """The per-request price lives with the model's data: its minimum and its rate.
    Remembered: an episode's lines have a few hundred lengths between them, and exact
    fractions are slow to work out thousands of times per change."""
    return max(info.min_credits, info.credits_per_1000_chars * characters / 1000)


@dataclass(frozen=True, slots=True)
class Detent:
    value: float
    name: str
    help: str


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name: str


def _read_json(name: str) -> Any:
    return json.loads(resources.files("editor.resources").joinpath(name).read_text("utf-8"))


def read_resource_json(name: str) -> Any:
    """A JSON file under ``resources/`` (the voice library reads ``voices.json`` this way)."""
    return _read_json(name)


def read_resource_text(name: str) -> str:
    """The text of a file under ``resources/`` (``samples/x.castline`` and the like)."""
    node = resources.files("editor.resources")
    for part in name.split("/"):
        node = node.joinpath(part)
    return node.read_text("utf-8")


def _fraction(value: Any) -> Fraction:
    # Through str() so that 0.028 stays exactly 28/1000 rather than a binary float.
    return Fraction(str(value))


@cache
def models() -> dict[str, ModelInfo]:
    out: dict[str, ModelInfo] = {}
    for m in _read_json("models.json")["models"]:
        out[m["id"]] = ModelInfo(
            id=m["id"],
            label=m["label"],
            min_credits=_fraction(m["min_credits"]),
            credits_per_1000_chars=_fraction(m["credits_per_1000_chars"]),
            max_chars=int(m["max_chars"]),
            max_voices=int(m["max_voices"]),
        )
    return out


class UnknownModelError(KeyError):
    def __str__(self) -> str:
        known = ", ".join(sorted(models()))
        return f"Unknown model {self.args[0]!r}; Castline knows: {known}."


def model(model_id: str) -> ModelInfo:
    try:
        return models()[model_id]
    except KeyError:
        raise UnknownModelError(model_id) from None


@cache
def detents() -> tuple[Detent, ...]:
    return tuple(Detent(float(d["value"]), d["name"], d["help"])
                 for d in _read_json("stability.json")["detents"])


def detent_name(value: float) -> str:
    """``Natural`` for 0.5; a value between detents is shown as its number."""
    for d in detents():
        if abs(d.value - value) < 1e-9:
            return d.name
    return f"{value:.2f}"


@cache
def languages() -> tuple[Language, ...]:
    return tuple(Language(x["code"], x["name"]) for x in _read_json("languages.json")["languages"])


@cache
def language_names() -> dict[str, str]:
    return {lang.code: lang.name for lang in languages()}


@cache
def voices() -> tuple[str, ...]:
    """Premade voice names, current ones first, each once: suggestions for the voice field.
    The whole library (ids, gender, age, accent, sources) is :mod:`editor.core.voices`."""
    entries = _read_json("voices.json")["voices"]
    ordered = sorted(entries, key=lambda v: (v.get("category", "default") != "default",
                                             str(v["name"]).casefold()))
    return tuple(dict.fromkeys(str(v["name"]) for v in ordered))


@cache
def audio_tags() -> tuple[str, ...]:
    return tuple(_read_json("audio_tags.json")["tags"])
