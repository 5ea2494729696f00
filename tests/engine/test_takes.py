"""Takes, locks and the pronunciation dictionary, against the sandbox over real HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from editor.core import sceneio
from editor.core.planner import plan
from editor.core.pricing import CostTracker
from editor.core.scene import Scene
from editor.engine.audio import decode
from editor.engine.project import keep_takes
from editor.engine.status import LineState, StatusBook
from editor.engine.takes import TakeStore, file_sha256, takes_dir_for
from tests.support.engine_helpers import Rig, running_sandbox, small_scene


async def render_into(store: TakeStore, scene: Scene, rig: Rig, rows: list[int] | None = None,
                      fresh: bool = False) -> None:
    requests = plan(scene, "lines", rows)
    outcome = await rig.engine.run(requests, fresh={r.key for r in requests} if fresh else ())
    assert outcome.ok, outcome.errors
    keep_takes(store, requests, outcome.paths, sandbox=False)


async def rendered_book(scene: Scene, tmp_path: Path) -> StatusBook:
    """Every line of ``scene`` rendered once against a sandbox, as takes; the status book."""
    store = TakeStore(tmp_path / "s.takes")
    async with running_sandbox() as box:
        rig = Rig(box, tmp_path)
        await render_into(store, scene, rig)
        await rig.aclose()
    return StatusBook(scene, rig.cache, store)


async def test_takes_survive_save_reopen_and_a_move(tmp_path: Path) -> None:
    scene = small_scene(4)
    project = tmp_path / "a" / "Scene.castline"
    project.parent.mkdir()
    sceneio.save(scene, project)
    store = TakeStore(takes_dir_for(project))
    async with running_sandbox() as box:
        rig = Rig(box, tmp_path)
        await render_into(store, scene, rig)
        await render_into(store, scene, rig, rows=[1], fresh=True)  # regenerate line 2
        await rig.aclose()
    assert box.stats.submits == 5
    second = scene.lines[1].id
    takes = store.takes_for(second)
    assert len(takes) == 2 and takes[0].sha256 != takes[1].sha256  # a new reading, both kept
    assert store.active_id(second) == takes[1].id  # the newest is chosen
    store.set_active(second, takes[0].id)

    # Move the pair somewhere else, as a writer would (and drop the cache: mailed to a colleague).
    moved = tmp_path / "b"
    moved.mkdir()
    shutil.move(str(project), moved / project.name)
    shutil.move(str(takes_dir_for(project)), moved / "Scene.takes")
    shutil.rmtree(tmp_path / "cache")
    again = sceneio.load(moved / "Scene.castline")
    reopened = TakeStore(takes_dir_for(moved / "Scene.castline"))
    assert len(reopened) == 5
    assert reopened.active_id(second) == takes[0].id
    book = StatusBook(again, rig.cache, reopened)
    for line in again.lines:
        status = book.status(line)
        assert status.state is LineState.READY, line.id
        assert status.take is not None and status.path is not None
        assert status.path.is_relative_to(moved)
        assert file_sha256(status.path) == status.take.sha256
    assert book.status(again.lines[1]).take.id == takes[0].id  # type: ignore[union-attr]


async def test_an_edit_marks_changed_and_undoing_it_brings_the_take_back(tmp_path: Path) -> None:
    scene = small_scene(2)
    book = await rendered_book(scene, tmp_path)
    old = scene.set_text(0, "A different line now.")
    assert book.status(scene.lines[0]).state is LineState.CHANGED  # its takes are of the old text
    shutil.rmtree(book.cache.root)  # only the takes can bring it back
    scene.set_text(0, old)
    status = book.status(scene.lines[0])
    assert status.state is LineState.READY and status.take is not None


async def test_a_locked_line_is_never_submitted(tmp_path: Path) -> None:
    scene = small_scene(4)
    scene.set_field([1, 2], "locked", True)
    requests = plan(scene, "lines")
    locked = {scene.lines[1].id, scene.lines[2].id}
    assert not locked & {i for r in requests for i in r.line_ids}
    assert [r.line_ids for r in plan(scene, "take")] == [(scene.lines[0].id,), (scene.lines[3].id,)]
    async with running_sandbox() as box:
        rig = Rig(box, tmp_path)
        outcome = await rig.engine.run(plan(scene, "lines", [0, 1, 2, 3]))
        await rig.aclose()
    assert outcome.ok
    assert box.stats.submits == 2
    sent = [t.body["dialogue"][0]["text"] for t in box.tasks.values()]
    assert sorted(sent) == sorted([scene.lines[0].text, scene.lines[3].text])


async def test_a_pronunciation_changes_what_is_sent_and_marks_exactly_its_lines(
        tmp_path: Path) -> None:
    scene = Scene(title="Dictionary")
    texts = ["Nguyen is late.", "Ask nguyen, not me.", "Nguyenville is a town.",
             "[Nguyen] is a tag here.", "Nobody else."]
    scene.insert_lines(0, [scene.new_line("MARA", t) for t in texts])
    book = await rendered_book(scene, tmp_path)
    costs = CostTracker(scene)
    chars_before = costs.characters
    events: list[object] = []
    scene.add_listener(lambda e, phase: events.append(e) if phase == "after" else None)

    scene.set_pronunciations({"Nguyen": "Win"})

    changed = [r for r, ln in enumerate(scene.lines) if book.status(ln).state is not LineState.READY]
    assert changed == [0, 1]  # whole words only, any case, never inside [tags]
    assert [ln.text for ln in scene.lines] == texts  # the writer's text is untouched
    bodies = [r.body["dialogue"][0]["text"] for r in plan(scene, "lines")]
    assert bodies[:4] == ["Win is late.", "Ask Win, not me.", "Nguyenville is a town.",
                          "[Nguyen] is a tag here."]
    assert costs.characters == chars_before - 2 * (len("Nguyen") - len("Win"))
    assert costs.characters == sum(len(b) for b in bodies)
    assert any(getattr(e, "rows", None) == (0, 1) and "spoken" in e.fields  # type: ignore[attr-defined]
               for e in events)
    # Taking the entry out again: the old takes speak the lines once more.
    scene.set_pronunciations({})
    assert all(book.status(ln).state is LineState.READY for ln in scene.lines)


def test_the_takes_index_survives_a_torn_record(tmp_path: Path) -> None:
    audio = tmp_path / "a.wav"
    import soundfile

    soundfile.write(audio, np.zeros((2205, 1), dtype=np.float32) + 0.1, 22050)
    store = TakeStore(tmp_path / "s.takes")
    first = store.add({"line-1": "k1"}, {"line-1": "Hi."}, {"dialogue": []}, "k1", audio,
                      cost=1.0, sandbox=False)
    with open(store.index_path, "ab") as f:
        f.write(b'{"op":"add","take":{"id":"take-9","li')  # a crash mid-append
    again = TakeStore(tmp_path / "s.takes")
    assert again.damaged_records == 1 and [t.id for t in again.all_takes()] == [first.id]
    soundfile.write(audio, np.zeros((4410, 1), dtype=np.float32) + 0.2, 22050)
    second = again.add({"line-1": "k1"}, {"line-1": "Hi."}, {"dialogue": []}, "k1", audio,
                       cost=1.0, sandbox=False)
    third = TakeStore(tmp_path / "s.takes")
    assert [t.id for t in third.all_takes()] == [first.id, second.id]
    assert third.active_id("line-1") == second.id
    assert decode(third.path(second)).data.shape[0] == 4410


def test_deleted_takes_can_be_restored_until_the_scene_is_reopened(tmp_path: Path) -> None:
    import soundfile

    audio = tmp_path / "a.wav"
    store = TakeStore(tmp_path / "s.takes")
    ids = []
    for n in (1, 2):
        soundfile.write(audio, np.full((1000 * n, 1), 0.1, dtype=np.float32), 22050)
        ids.append(store.add({"line-1": "k"}, {}, {}, "k", audio, cost=1.0, sandbox=False).id)
    store.delete(ids[1])
    assert store.resolve("line-1", lambda _i: "k", sandbox=False).id == ids[0]  # type: ignore[union-attr]
    store.restore(ids[1])
    assert store.resolve("line-1", lambda _i: "k", sandbox=False).id == ids[1]  # type: ignore[union-attr]
    store.delete(ids[0])
    path = store.path(store.get(ids[0]))  # type: ignore[arg-type]
    assert TakeStore(store.root).purge_deleted() == 1
    assert not path.exists()
    assert [t.id for t in TakeStore(store.root).all_takes(deleted=True)] == [ids[1]]


def test_sandbox_takes_never_speak_for_the_real_service(tmp_path: Path) -> None:
    import soundfile

    audio = tmp_path / "a.wav"
    soundfile.write(audio, np.full((1000, 1), 0.1, dtype=np.float32), 22050)
    store = TakeStore(tmp_path / "s.takes")
    store.add({"line-1": "k"}, {}, {}, "k", audio, cost=1.0, sandbox=True)
    assert store.resolve("line-1", lambda _i: "k", sandbox=True) is not None
    assert store.resolve("line-1", lambda _i: "k", sandbox=False) is None


def test_two_processes_adding_takes_to_one_scene_lose_nothing(tmp_path: Path) -> None:
    """The editor (one store) and the command line (another) render into the same scene."""
    import soundfile

    root = tmp_path / "s.takes"
    editor_side, cli_side = TakeStore(root), TakeStore(root)
    made = []
    for n, store in enumerate([editor_side, cli_side, editor_side, cli_side], 1):
        audio = tmp_path / f"a{n}.wav"  # a new file each time, as the cache makes them
        soundfile.write(audio, np.full((500 * n, 1), 0.1, dtype=np.float32), 22050)
        made.append(store.add({"line-1": "k"}, {}, {}, "k", audio, cost=1.0, sandbox=False))
    assert len({t.id for t in made}) == 4  # no id given twice, no audio overwritten
    assert editor_side.refresh() and {t.id for t in editor_side.all_takes()} == {t.id for t in made}
    again = TakeStore(root)
    assert again.damaged_records == 0
    for n, take in enumerate(made, 1):
        assert decode(again.path(again.get(take.id))).data.shape[0] == 500 * n  # type: ignore[arg-type]
    assert again.active_id("line-1") == made[-1].id


def test_opening_compacts_a_damaged_index_so_it_is_reported_once(tmp_path: Path) -> None:
    import soundfile

    audio = tmp_path / "a.wav"
    soundfile.write(audio, np.full((1000, 1), 0.1, dtype=np.float32), 22050)
    store = TakeStore(tmp_path / "s.takes")
    take = store.add({"line-1": "k"}, {}, {}, "k", audio, cost=1.0, sandbox=False)
    with open(store.index_path, "ab") as f:
        f.write(b'{"op": "active", "line": \n')  # damaged in the middle
        f.write(b'{"op": "delete", "take": "take-')  # and torn at the end
    first = TakeStore(store.root)
    assert first.damaged_records == 2
    assert first.purge_deleted() == 0  # nothing deleted, but the index is rewritten clean
    second = TakeStore(store.root)
    assert second.damaged_records == 0 and [t.id for t in second.all_takes()] == [take.id]
    assert second.active_id("line-1") == take.id
