"""The scene file v1: validation with clear messages, lossless round trip, atomic save."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from editor.core import atomic, sceneio
from editor.core.scene import CastMember, Line, Scene
from editor.core.sceneio import SceneFileError

CONTRACT_EXAMPLE = {
    "format": "castline-scene", "version": 1, "title": "The Knock", "model": "elevenlabs-v3",
    "stability": 0.5, "language_code": "auto",
    "cast": {"MARA": {"voice": "Sarah"}, "JONAS": {"voice": "George"}},
    "lines": [
        {"id": "line-1", "speaker": "MARA", "text": "[whispers] Did you hear that?",
         "stability": None, "language_code": None},
        {"id": "line-2", "speaker": "JONAS", "text": "Only the wind.", "stability": 1.0,
         "language_code": "en"},
    ],
}


def test_contract_example_loads_and_saves_to_equal_json(tmp_path: Path) -> None:
    scene = sceneio.scene_from_data(CONTRACT_EXAMPLE)
    assert scene.title == "The Knock"
    assert scene.lines[1].stability == 1.0
    assert scene.voice_of("MARA") == "Sarah"
    path = tmp_path / "knock.castline"
    sceneio.save(scene, path)
    assert json.loads(path.read_text("utf-8")) == CONTRACT_EXAMPLE


def test_unknown_keys_survive_a_round_trip(tmp_path: Path) -> None:
    data = json.loads(json.dumps(CONTRACT_EXAMPLE))
    data["x_director"] = {"notes": ["keep it quiet"]}
    data["cast"]["MARA"]["x_colour"] = "#aa0000"
    data["lines"][0]["x_take"] = 3
    path = tmp_path / "s.castline"
    path.write_text(json.dumps(data), "utf-8")
    sceneio.save(sceneio.load(path), path)
    assert json.loads(path.read_text("utf-8")) == data


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d.update(version=2), "version 2, written by a newer Castline"),
    (lambda d: d.update(version="1"), "'version' should be 1"),
    (lambda d: d.update(format="other"), "not a Castline scene"),
    (lambda d: d["lines"][1].update(stability="high"),
     "line 2: 'stability' should be a number from 0 to 1 or null"),
    (lambda d: d["lines"][1].update(stability=1.5), "line 2: 'stability'"),
    (lambda d: d["lines"][0].update(language_code=7), "line 1: 'language_code' should be"),
    (lambda d: d["lines"][0].update(text=None), "line 1: 'text' should be text"),
    (lambda d: d["lines"][1].update(id="line-1"), "line 2: 'id' \"line-1\" is already used by line 1"),
    (lambda d: d["lines"][0].pop("id"), "line 1: 'id' should be a non-empty text id"),
    (lambda d: d.update(lines={"a": 1}), "'lines' should be a list"),
    (lambda d: d.update(cast=[1]), "'cast' should be an object"),
    (lambda d: d["cast"].update(MARA="Sarah"), "'cast.MARA' should be an object"),
    (lambda d: d.update(stability=None), "'stability' should be a number from 0 to 1"),
])
def test_invalid_files_are_refused_with_field_and_line(mutate: Any, expected: str) -> None:
    data = json.loads(json.dumps(CONTRACT_EXAMPLE))
    mutate(data)
    with pytest.raises(SceneFileError) as e:
        sceneio.loads(json.dumps(data), "knock.castline")
    assert expected in str(e.value)
    assert str(e.value).startswith("knock.castline")


@pytest.mark.parametrize(("raw", "expected"), [
    (b"", "JSON error at text line 1"),
    (b'{"format": "castline-scene", "version": 1, "lines": [', "damaged"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"[" * 100000, "nested too deeply"),
    (b"null", "expected a JSON object"),
])
def test_corrupt_and_hostile_files(tmp_path: Path, raw: bytes, expected: str) -> None:
    path = tmp_path / "bad.castline"
    path.write_bytes(raw)
    with pytest.raises(SceneFileError, match=expected):
        sceneio.load(path)


def test_truncated_file_at_every_length_is_refused_clearly(tmp_path: Path) -> None:
    full = sceneio.dumps(sceneio.scene_from_data(CONTRACT_EXAMPLE)).encode()
    path = tmp_path / "t.castline"
    for n in range(0, len(full) - 2, 7):
        path.write_bytes(full[:n])
        with pytest.raises(SceneFileError):
            sceneio.load(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SceneFileError, match="no such file"):
        sceneio.load(tmp_path / "nope.castline")
    with pytest.raises(SceneFileError, match="is a folder"):
        sceneio.load(tmp_path)


def test_save_keeps_previous_version_as_bak(tmp_path: Path) -> None:
    path = tmp_path / "s.castline"
    scene = sceneio.scene_from_data(CONTRACT_EXAMPLE)
    sceneio.save(scene, path)
    first = path.read_bytes()
    scene.set_text(0, "Changed.")
    sceneio.save(scene, path)
    assert (tmp_path / "s.castline.bak").read_bytes() == first
    assert sceneio.load(path).lines[0].text == "Changed."


@pytest.mark.parametrize("fail_at", range(4))
def test_save_interrupted_at_any_step_leaves_the_previous_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    path = tmp_path / "s.castline"
    scene = sceneio.scene_from_data(CONTRACT_EXAMPLE)
    sceneio.save(scene, path)
    before = path.read_bytes()
    scene.set_text(0, "A new version that must not half-replace the old one.")

    calls = {"n": 0}
    real_fsync, real_replace = os.fsync, os.replace

    def step(real: Any) -> Any:
        def wrapped(*a: Any) -> Any:
            if calls["n"] == fail_at:
                calls["n"] += 1
                raise OSError(28, "No space left on device")
            calls["n"] += 1
            return real(*a)
        return wrapped

    # The steps: fsync temp, fsync backup copy, replace backup, replace file.
    monkeypatch.setattr(atomic.os, "fsync", step(real_fsync))
    monkeypatch.setattr(atomic.os, "replace", step(real_replace))
    with pytest.raises(OSError, match="No space"):
        sceneio.save(scene, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sceneio.load(path).lines[0].text == CONTRACT_EXAMPLE["lines"][0]["text"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


# --- property: any scene survives save and load unchanged ------------------------------------

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
# What the door lets into a scene's own fields (tests/test_text_door.py): no control characters,
# except tab and line breaks in a line's text.
one_line = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)
line_texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"),
                                   include_characters="\t\n\r"), max_size=60)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                max_size=12)
stabilities = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0]),
                        st.floats(0, 1, allow_nan=False))
languages = st.one_of(st.none(), st.sampled_from(["en", "fr", "ja", "zh", "auto", "pt-BR"]))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)
extras = st.dictionaries(st.text(max_size=8).map(lambda k: "x_" + k), json_values, max_size=2)


@st.composite
def scenes(draw: st.DrawFn) -> Scene:
    cast_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    cast = {n: CastMember(draw(one_line), draw(extras)) for n in cast_names}
    n_lines = draw(st.integers(0, 8))
    lines = [Line(f"id-{i}-{draw(st.text('abc', max_size=3))}", draw(st.sampled_from(cast_names)),
                  draw(line_texts), draw(stabilities), draw(languages),
                  pause_after_ms=draw(st.one_of(st.none(), st.integers(0, 60_000))),
                  locked=draw(st.booleans()), extra=draw(extras))
             for i in range(n_lines)]
    words = draw(st.dictionaries(st.text("abcxyz", min_size=1, max_size=6), one_line, max_size=3))
    return Scene(draw(one_line), "elevenlabs-v3", draw(st.floats(0, 1, allow_nan=False)),
                 draw(st.sampled_from(["auto", "en", "de"])), cast, lines, draw(extras),
                 gap_ms=draw(st.one_of(st.none(), st.integers(0, 60_000))), pronunciations=words)


def as_data(scene: Scene) -> Any:
    return json.loads(json.dumps(sceneio.scene_to_data(scene)))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scene=scenes())
def test_round_trip_is_lossless(tmp_path: Path, scene: Scene) -> None:
    path = tmp_path / "p.castline"
    sceneio.save(scene, path)
    again = sceneio.load(path)
    assert as_data(again) == as_data(scene)
    assert [ln.id for ln in again.lines] == [ln.id for ln in scene.lines]
    assert sceneio.dumps(again) == path.read_text("utf-8")
