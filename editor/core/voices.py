"""The voice library: ElevenLabs' premade voices and the writer's own (Qt-free).

``resources/voices.json`` holds the premade voices with the facts a public
source gives (name, voice id, gender, age, accent, description, use case,
language where known) and, per voice, which source gave which field. The
writer's own voices are a name and a voice id (and a language if they know
it); the window keeps them in its settings and hands them in here.

A scene's voice field stays free text (CONTRACT §1: which names the reseller
accepts is not published). This module only *recognises* what was typed: a
premade or own voice by name (any case) or by voice id, or nothing, in which
case the editor and ``castline render`` flag it. Nothing here changes what is
sent: the planner sends the cast's text as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from editor.core.catalog import read_resource_json
from editor.core.catalog import voices as _names

# ElevenLabs voice ids are 20 letters and digits (``JBFqnCBsd6RMkjVDRZzb``).
VOICE_ID = re.compile(r"[A-Za-z0-9]{20}")

PREMADE, LEGACY, OWN = "default", "legacy", "own"
# What a search looks at, in the picker's column order.
SEARCH_FIELDS = ("name", "gender", "age", "accent", "description", "use_case", "language", "voice_id")


@dataclass(frozen=True, slots=True)
class Voice:
    name: str
    voice_id: str
    category: str = PREMADE  # "default" (ElevenLabs' current premade), "legacy", or "own"
    gender: str = ""
    age: str = ""
    accent: str = ""
    description: str = ""
    use_case: str = ""
    language: str = ""  # codes, comma-separated ("en" or "en,fr"); empty: not known
    preview_url: str = ""
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def languages(self) -> tuple[str, ...]:
        """The language codes the library says this voice speaks (empty: not known)."""
        return tuple(c.strip().lower() for c in self.language.split(",") if c.strip())

    @property
    def own(self) -> bool:
        return self.category == OWN

    @property
    def cast_text(self) -> str:
        """What to put in a character's voice field when the writer picks this voice: a
        premade voice by its name (as Castline has always sent it), one of the writer's own
        voices by its id (the service cannot know a name the writer made up)."""
        return self.voice_id if self.own else self.name

    def label(self) -> str:
        """``Sarah — female, young, American, soft, news`` for lists and tooltips."""
        facts = ", ".join(x for x in (self.gender, self.age, self.accent, self.description,
                                      self.use_case) if x)
        return f"{self.name} — {facts}" if facts else self.name

    def source_of(self, field_name: str) -> tuple[str, ...]:
        """The ids of the sources (``sources()``) that gave ``field_name``."""
        return tuple(s for s, fields in self.sources.items() if field_name in fields)


def is_voice_id(text: str) -> bool:
    return bool(VOICE_ID.fullmatch(text.strip()))


def _voice(data: Mapping[str, Any]) -> Voice:
    return Voice(
        name=str(data["name"]), voice_id=str(data["voice_id"]),
        category=str(data.get("category", PREMADE)),
        gender=str(data.get("gender", "")), age=str(data.get("age", "")),
        accent=str(data.get("accent", "")), description=str(data.get("description", "")),
        use_case=str(data.get("use_case", "")), language=str(data.get("language", "")),
        preview_url=str(data.get("preview_url", "")),
        sources={k: tuple(v) for k, v in dict(data.get("from", {})).items()})


@cache
def premade_voices() -> tuple[Voice, ...]:
    """ElevenLabs' premade voices: the current ("default") ones first, then legacy ones."""
    voices = tuple(_voice(v) for v in read_resource_json("voices.json")["voices"])
    return tuple(sorted(voices, key=lambda v: (v.category != PREMADE, v.name.casefold())))


@cache
def sources() -> dict[str, dict[str, str]]:
    """Source id -> what it is (repository, path, commit or URL, what it gives)."""
    return {k: dict(v) for k, v in read_resource_json("voices.json")["sources"].items()}


# --- the writer's own voices --------------------------------------------------------------

class OwnVoiceError(ValueError):
    """An own voice that cannot be kept as given (no name, an id of the wrong form)."""


def own_voice(name: str, voice_id: str, language: str = "") -> Voice:
    """One of the writer's own voices (a clone, a Voice Library voice): a name they chose
    and the ElevenLabs voice id."""
    name, voice_id = name.strip(), voice_id.strip()
    if not name:
        raise OwnVoiceError("A voice needs a name.")
    if not is_voice_id(voice_id):
        raise OwnVoiceError(f"{voice_id!r} is not an ElevenLabs voice id (20 letters and digits, "
                            "such as JBFqnCBsd6RMkjVDRZzb).")
    return Voice(name, voice_id, OWN, language=language.strip(), sources={"writer": ("name",
                 "voice_id", "language")})


def own_voices_from_data(data: Any) -> tuple[Voice, ...]:
    """The writer's own voices from what settings keep (a list of ``{"name", "voice_id",
    "language"}``); anything unusable is left out, never raised, so bad settings cannot stop
    the editor."""
    out: list[Voice] = []
    if isinstance(data, list):
        for item in data:
            if not isinstance(item, dict):
                continue
            try:
                out.append(own_voice(str(item.get("name", "")), str(item.get("voice_id", "")),
                                     str(item.get("language", "") or "")))
            except OwnVoiceError:
                continue
    return tuple(out)


def own_voices_to_data(voices: Iterable[Voice]) -> list[dict[str, str]]:
    return [{"name": v.name, "voice_id": v.voice_id, "language": v.language}
            for v in voices if v.own]


# --- looking voices up --------------------------------------------------------------------

def all_voices(own_voices: Sequence[Voice] = ()) -> tuple[Voice, ...]:
    """The writer's own voices first, then the premade ones (the picker's rows)."""
    return tuple(own_voices) + premade_voices()


def find(text: str, own_voices: Sequence[Voice] = ()) -> Voice | None:
    """The voice ``text`` names: a voice id (exactly), else a name (any case). Own voices win
    over premade ones, current premade voices over legacy ones (ElevenLabs has two Georges)."""
    text = text.strip()
    if not text:
        return None
    voices = all_voices(own_voices)
    if is_voice_id(text):
        for v in voices:
            if v.voice_id == text:
                return v
    key = text.casefold()
    for v in voices:
        if v.name.casefold() == key:
            return v
    return None


def is_known(text: str, own_voices: Sequence[Voice] = ()) -> bool:
    """Whether ``text`` names a voice Castline knows. Empty text is "no voice", not unknown:
    ask :func:`find` and the pre-render check for that."""
    return find(text, own_voices) is not None


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").replace("_", " ").split())


def search(query: str, voices: Sequence[Voice] | None = None) -> list[Voice]:
    """The voices that match every word of ``query`` in any of name, gender, age, accent,
    description, use case, language or voice id: each query word begins a word there (any
    case; "middle-aged" = "middle aged"; "male" does not find "female").
    Names that start with the query come first; an empty query returns all, in order."""
    pool = list(premade_voices() if voices is None else voices)
    words = _norm(query).split()
    if not words:
        return pool
    hits: list[tuple[int, int, Voice]] = []
    for i, v in enumerate(pool):
        hay = [_norm(str(getattr(v, f))) for f in SEARCH_FIELDS]
        starts = {word for h in hay for word in h.split()}
        if not all(any(s.startswith(w) for s in starts) for w in words):
            continue
        name = hay[0]
        rank = 0 if name == _norm(query) else 1 if name.startswith(words[0]) else 2
        hits.append((rank, i, v))
    return [v for _, _, v in sorted(hits, key=lambda t: (t[0], t[1]))]


def names() -> tuple[str, ...]:
    """Premade voice names, current ones first, each once (the Cast panel's completer; the
    same as ``catalog.voices()``)."""
    return _names()
