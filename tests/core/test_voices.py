"""The voice library: ElevenLabs' premade voices with their sources, own voices, search, find."""

from __future__ import annotations

import json
import re

import pytest

from editor.core import catalog, sceneio
from editor.core.catalog import read_resource_text
from editor.core.voices import (
    LEGACY,
    OWN,
    PREMADE,
    OwnVoiceError,
    find,
    is_known,
    is_voice_id,
    names,
    own_voice,
    own_voices_from_data,
    own_voices_to_data,
    premade_voices,
    search,
    sources,
)

FACT_FIELDS = ("name", "voice_id", "gender", "age", "accent", "description", "use_case",
               "language", "preview_url", "category")
CONTRACT_NAMES = ("Aria", "Roger", "Sarah", "Laura", "Charlie", "George", "Callum", "River", "Liam",
                  "Charlotte", "Alice", "Matilda", "Will", "Jessica", "Eric", "Chris", "Brian",
                  "Daniel", "Lily", "Bill")


def raw() -> dict:
    return json.loads(read_resource_text("voices.json"))


def test_the_library_loads_with_names_and_elevenlabs_ids() -> None:
    voices = premade_voices()
    assert len(voices) >= 20
    for v in voices:
        assert v.name.strip()
        assert re.fullmatch(r"[A-Za-z0-9]{20}", v.voice_id), v
        assert v.category in (PREMADE, LEGACY)
    assert len({v.voice_id for v in voices}) == len(voices)  # no id twice


def test_every_filled_field_names_a_source_that_is_described() -> None:
    data = raw()
    described = data["sources"]
    for source in described.values():
        assert source.get("url") or (source.get("repository") and source.get("path")
                                     and re.fullmatch(r"[0-9a-f]{40}", source.get("commit", "")))
    for entry in data["voices"]:
        credited = {f for fields in entry["from"].values() for f in fields}
        assert set(entry["from"]) <= set(described), entry["name"]
        for f in FACT_FIELDS:
            if entry.get(f):
                assert f in credited, (entry["name"], f)
        for s in entry.get("voice_id_also_in", []):
            assert s in described


def test_the_contracts_premade_names_are_all_current_voices() -> None:
    for name in CONTRACT_NAMES:
        v = find(name)
        assert v is not None and v.category == PREMADE, name
    assert catalog.voices()[:len(CONTRACT_NAMES)] == tuple(sorted(CONTRACT_NAMES))
    assert names() == catalog.voices()
    assert len(set(names())) == len(names())


def test_the_sample_scenes_voices_are_known() -> None:
    scene = sceneio.loads(read_resource_text("samples/night-ferry.castline"), "s.castline")
    for member in scene.cast.values():
        assert is_known(member.voice), member.voice


def test_find_by_name_any_case_or_by_id() -> None:
    sarah = find("sarah")
    assert sarah is not None and sarah.voice_id == "EXAVITQu4vr4xnSDxMaL"
    assert sarah.gender == "female" and sarah.accent == "American"
    assert sarah.source_of("accent") == ("elevenlabs-docs",)
    by_id = find("JBFqnCBsd6RMkjVDRZzb")
    assert by_id is not None and by_id.name == "George" and by_id.category == PREMADE
    # ElevenLabs has a legacy George too: the name finds the current one, the id the legacy.
    assert find("GEORGE") == by_id
    legacy = find("Yko7PKHZNXotIFUBG7I9")
    assert legacy is not None and legacy.name == "George" and legacy.category == LEGACY
    assert find("  Adam ") is not None and find("Rachel") is not None  # legacy, still known
    assert find("") is None and find("Bob the Builder") is None
    assert find("jbfqncbsd6rmkjvdrzzb") is None  # ids are exact


def test_free_text_is_flagged_as_unknown() -> None:
    assert is_known("Charlotte")
    assert not is_known("Gandalf")
    assert not is_known("AAAAAAAAAAAAAAAAAAAA")  # the form of an id, but no voice Castline knows
    assert is_voice_id("AAAAAAAAAAAAAAAAAAAA") and not is_voice_id("Sarah")


def test_own_voices_are_found_first_and_kept_as_data() -> None:
    mine = own_voice("Grandpa Joe", "abcdefghij0123456789", "en")
    assert mine.category == OWN and mine.cast_text == "abcdefghij0123456789"
    assert find("grandpa joe", [mine]) == mine
    assert find("abcdefghij0123456789", [mine]) == mine
    assert not is_known("Grandpa Joe") and is_known("Grandpa Joe", [mine])
    sarah_mine = own_voice("Sarah", "zzzzzzzzzzzzzzzzzzz1")
    assert find("Sarah", [sarah_mine]) == sarah_mine  # the writer's own wins
    premade = find("Sarah")
    assert premade is not None and premade.cast_text == "Sarah"  # premade: sent by name
    data = own_voices_to_data([mine, premade])
    assert data == [{"name": "Grandpa Joe", "voice_id": "abcdefghij0123456789", "language": "en"}]
    assert own_voices_from_data(data) == (mine,)
    assert own_voices_from_data([{"name": "", "voice_id": "x"}, 3, {"name": "A"}]) == ()
    assert own_voices_from_data("garbage") == ()
    with pytest.raises(OwnVoiceError):
        own_voice("Bad", "short")
    with pytest.raises(OwnVoiceError):
        own_voice(" ", "abcdefghij0123456789")


@pytest.mark.parametrize(("query", "expected", "absent"), [
    ("british male", {"Daniel", "George"}, {"Alice", "Lily"}),  # "male" is not "female"
    ("middle-aged american narration", {"Brian", "Matilda"}, {"Sarah"}),
    ("Australian", {"Charlie"}, {"Sarah"}),
    ("news", {"Alice", "Daniel", "Sarah"}, {"Bill"}),
    ("warm", {"George", "Lily"}, {"Roger"}),
    ("social media", {"Aria", "Laura", "River", "Roger", "Will"}, {"George"}),
    ("JBFqn", {"George"}, {"Sarah"}),
])
def test_search_matches_every_word_in_the_pickers_columns(query: str, expected: set[str],
                                                          absent: set[str]) -> None:
    found = {v.name for v in search(query)}
    assert expected <= found, found
    assert not absent & found, found


def test_search_ranks_names_first_and_takes_own_voices() -> None:
    assert search("sa")[0].name == "Sarah"
    assert search("") == list(premade_voices())
    assert search("nobody-like-this") == []
    mine = own_voice("Narrator Nan", "abcdefghij0123456789", "fr")
    pool = [mine, *premade_voices()]
    assert search("nan", pool)[0] == mine
    assert mine in search("fr", pool)


def test_sources_describe_elevenlabs_own_page() -> None:
    docs = sources()["elevenlabs-docs"]
    assert docs["repository"] == "elevenlabs/elevenlabs-docs"
    assert docs["path"] == "voices/default-voices.mdx"
