"""Fuzzed input: any scene file, script or service answer yields a result or a clear error.

Never a crash (an exception other than the documented one) and never a hang.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from editor.core import sceneio
from editor.core.importers import ImportError_, parse_csv, parse_fountain, parse_plain
from editor.engine import answers
from editor.engine.errors import UnreadableAnswer

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
              st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=20)

scene_keys = st.sampled_from(["format", "version", "title", "model", "stability",
                              "language_code", "cast", "lines", "id", "speaker", "text", "voice",
                              "pause_after_ms", "locked", "gap_ms", "pronunciations"])


@st.composite
def scene_like(draw: st.DrawFn) -> Any:
    """Mostly-valid scene documents with random damage."""
    data: dict[str, Any] = {"format": "castline-scene", "version": 1, "title": "T",
                            "cast": {"A": {"voice": "Sarah"}},
                            "lines": [{"id": f"l{i}", "speaker": "A", "text": "hi",
                                       "stability": None, "language_code": None}
                                      for i in range(draw(st.integers(0, 3)))]}
    for _ in range(draw(st.integers(0, 4))):
        target = data
        if isinstance(data["lines"], list) and data["lines"] and draw(st.booleans()) \
                and isinstance(data["lines"][0], dict):
            target = data["lines"][0]
        target[draw(scene_keys)] = draw(json_values)
    return data


@settings(max_examples=300, deadline=None)
@given(doc=scene_like())
def test_damaged_scene_documents_load_or_fail_clearly(doc: Any) -> None:
    try:
        scene = sceneio.loads(json.dumps(doc, allow_nan=True), "f.castline")
    except sceneio.SceneFileError as e:
        assert str(e).startswith("f.castline")
    else:
        assert sceneio.loads(sceneio.dumps(scene)).title == scene.title


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=400))
def test_random_bytes_as_a_scene_file(tmp_path_factory: Any, raw: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("fz") / "x.castline"
    path.write_bytes(raw)
    try:
        scene = sceneio.load(path)
    except sceneio.SceneFileError as e:
        assert "x.castline" in str(e)
    else:
        assert scene.title is not None


script_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400) | \
    st.lists(st.sampled_from(["INT. ROOM - DAY", "", "BOB", "(beat)", "Hello.", "@alice", "BOB ^",
                              "[[note", "]]", "/*", "*/", "> CUT TO:", "Title: X", "  ", "\t\tJO",
                              "~lyric", "# Act", "= syn", "===", "!FORCED", ".HEADING"]),
             max_size=40).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(text=script_text)
def test_any_script_imports_or_fails_clearly(text: str) -> None:
    _title, blocks = parse_fountain(text)
    for b in blocks:
        assert b.speaker and b.text.strip()
    for parse in (parse_plain, parse_csv):
        try:
            result = parse(text)
        except ImportError_ as e:
            assert str(e)
        else:
            assert all(item.speaker is not None for item in result)


@settings(max_examples=400, deadline=None)
@given(obj=json_values)
def test_any_service_answer_reads_or_fails_clearly(obj: Any) -> None:
    raw = json.dumps(obj)
    try:
        state = answers.read_task(json.loads(raw), raw)
    except UnreadableAnswer as e:
        assert "could not be read" in str(e)
    else:
        assert state.status is not None


take_records = st.one_of(
    json_values,
    st.fixed_dictionaries({"op": st.sampled_from(["add", "active", "delete", "restore", "header",
                                                  "other"])},
                          optional={"take": json_values, "line": json_values,
                                    "format": json_values, "version": json_values}),
    st.fixed_dictionaries({"op": st.just("add"), "take": st.fixed_dictionaries(
        {"id": st.text(max_size=8), "lines": st.dictionaries(st.text(max_size=4),
                                                             st.text(max_size=4), max_size=2),
         "request_key": st.text(max_size=4), "file": st.text(max_size=12)},
        optional={"cost": json_values, "created": json_values, "texts": json_values})}))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(take_records, max_size=8), tail=st.binary(max_size=40))
def test_any_takes_index_opens_or_says_why(tmp_path: Path, records: list[Any], tail: bytes) -> None:
    from editor.engine.takes import TakeError, TakeStore

    root = tmp_path / "fuzz.takes"
    root.mkdir(exist_ok=True)
    body = b"".join(json.dumps(r).encode() + b"\n" for r in records) + tail
    (root / "index.jsonl").write_bytes(body)
    try:
        store = TakeStore(root)
    except TakeError as e:
        assert "newer Castline" in str(e)
        return
    for take in store.all_takes(deleted=True):  # whatever loaded is usable
        store.resolve(next(iter(take.lines)), lambda _i: None, sandbox=take.sandbox)
        assert isinstance(take.lines, dict) and take.lines


@settings(max_examples=300, deadline=None)
@given(template=st.text(max_size=30))
def test_any_name_template_is_accepted_or_refused_clearly(template: str) -> None:
    from editor.core.scene import Scene
    from editor.engine.audio import ExportError
    from editor.engine.export import Exporter, Source, plan_export

    scene = Scene()
    scene.insert_lines(0, [scene.new_line("A/B", "x"), scene.new_line("C", "y")])
    layout = plan_export(scene, lambda ln: Source(Path(f"{ln.id}.wav")))
    try:
        exporter = Exporter(scene, layout, Path("."), what=("lines",), name=template)
        names = exporter.clip_names()
    except ExportError as e:
        assert str(e)
        return
    assert len(names) == 2 and len(set(names)) == 2
    assert all("/" not in n and "\\" not in n and n.endswith(".wav") for n in names)
