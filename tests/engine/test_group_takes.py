"""Render in context, keep per-line takes (issue 17): every line of an "As dialogue" render
gets its own take, cut from the clip, and the mix still uses the clip whole."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from editor import cli
from editor.core import sceneio
from editor.core.scene import Line, Scene
from editor.engine.audio import decode
from editor.engine.project import open_book
from editor.engine.status import LineState
from editor.engine.takes import TakeStore, takes_dir_for


def exchange(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    scene = Scene(title="Exchange")
    texts = ["Did you see the lights over the harbour last night?",
             "I did. They were moving against the wind.",
             "Then it was not a boat. Boats do not do that.",
             "[laughs] You sound like my grandmother."]
    scene.insert_lines(0, [Line(id=f"x{i}", speaker="ANA" if i % 2 == 0 else "BO", text=t)
                           for i, t in enumerate(texts)])
    scene.set_voice("ANA", "Rachel")
    scene.set_voice("BO", "Adam")
    path = folder / "exchange.castline"
    sceneio.save(scene, path)
    return path


def test_a_dialogue_render_gives_every_line_its_own_take_and_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = exchange(tmp_path / "p")
    assert cli.main(["render", str(path), "-o", str(tmp_path / "mix.wav"), "--sandbox",
                     "--mode", "take"]) == 0
    store = TakeStore(takes_dir_for(path))
    groups = [t for t in store.all_takes() if t.is_group]
    assert len(groups) == 1 and len(groups[0].lines) == 4
    pieces = {t.line_ids[0]: t for t in store.all_takes() if t.group == groups[0].id}
    assert sorted(pieces) == ["x0", "x1", "x2", "x3"]
    for line_id, piece in pieces.items():
        assert store.active_id(line_id) == piece.id  # each line speaks its own piece
        assert piece.span is not None
    spans = [pieces[f"x{i}"].span for i in range(4)]
    assert spans[0][0] == 0.0  # type: ignore[index]
    for a, b in itertools.pairwise(spans):
        assert a[1] == pytest.approx(b[0])  # type: ignore[index]  # the pieces tile the clip
    # Export: every line in its own file, and a manifest that says where each sits.
    out = tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    assert cli.main(["export", str(path), "--to", str(out), "--sandbox",
                     "--what", "mix,lines,manifest"]) == 0
    manifest = json.loads((out / "Exchange_manifest.json").read_text()
                          if (out / "Exchange_manifest.json").exists()
                          else next(out.glob("*_manifest.json")).read_text())
    rows = manifest["lines"]
    assert [r["id"] for r in rows] == ["x0", "x1", "x2", "x3"]
    files = [r["file"] for r in rows]
    assert len(set(files)) == 4  # one file per line
    group_clip = decode(store.path(groups[0]))  # type: ignore[arg-type]
    for r in rows:
        assert r["group_take"] == groups[0].id
        assert r["duration"] == pytest.approx(r["group_duration"], abs=0.002)
        assert decode(out / r["file"]).seconds == pytest.approx(r["duration"], abs=0.01)
    # The mix holds the clip whole: its lines are back to back, with no pause added inside.
    assert rows[-1]["start"] + rows[-1]["duration"] == pytest.approx(group_clip.seconds, abs=0.01)


def test_editing_one_line_of_a_group_leaves_the_others_ready(tmp_path: Path) -> None:
    path = exchange(tmp_path / "p")
    assert cli.main(["render", str(path), "-o", str(tmp_path / "mix.wav"), "--sandbox",
                     "--mode", "take"]) == 0
    scene = sceneio.load(path)
    scene.set_text(1, "I did not. I was asleep.")
    store = TakeStore(takes_dir_for(path))
    book = open_book(scene, store, sandbox=True)
    states = [book.status(ln).state for ln in scene.lines]
    assert states == [LineState.READY, LineState.CHANGED, LineState.READY, LineState.READY]
    scene.delete_lines([2])
    states = [book.status(ln).state for ln in scene.lines]
    assert states == [LineState.READY, LineState.CHANGED, LineState.READY]
