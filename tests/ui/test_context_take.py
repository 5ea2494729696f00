"""One line again, in context (issue 17, deliverable 4): the line is sent with its neighbours
as one short dialogue, only its part is kept as a new take, and only that request is priced."""

from __future__ import annotations

from typing import Any

from editor.engine.takes import TakeStore
from editor.ui.mainwindow import MainWindow
from tests.support.ui_helpers import run
from tests.ui.test_cut_editor import render_as_dialogue


def sandbox(window: MainWindow) -> Any:
    assert window.render.session is not None and window.render.session.sandbox is not None
    return window.render.session.sandbox


def test_new_take_in_context_sends_one_request_of_three_and_keeps_only_the_line(
        window: MainWindow, qloop: Any) -> None:
    group = render_as_dialogue(window, qloop, [0, 1, 2])
    store = window.takes
    ids = group.line_ids
    before = {i: store.active_id(i) for i in ids}
    heard_before = {i: window.book.take(window.scene.line_by_id(i)) for i in ids}
    takes_before = {i: len(store.takes_for(i)) for i in ids}
    submits, tasks = sandbox(window).stats.submits, set(sandbox(window).tasks)

    window.select_rows([1])
    action = window.actions["render.new_take_in_context"]
    assert action.shortcut().toString() == "Ctrl+Alt+Shift+R"
    action.trigger()  # the action and the panel's button reach the same place
    op = window.takes_room.op
    assert op is not None and op.task is not None
    piece = run(qloop, op.task)
    assert piece is not None

    # Exactly one request, of three dialogue entries: the line between its neighbours.
    assert sandbox(window).stats.submits == submits + 1
    new = [t for k, t in sandbox(window).tasks.items() if k not in tasks]
    assert len(new) == 1
    dialogue = new[0].body["dialogue"]
    assert [d["text"] for d in dialogue] == [window.scene.lines[r].text for r in (0, 1, 2)]
    # One new piece for the line, chosen; linked to a new group take no line chooses.
    line = ids[1]
    assert len(store.takes_for(line)) == takes_before[line] + 2  # the piece and the group
    assert store.active_id(line) == piece.id
    assert window.book.take(window.scene.lines[1]) == piece
    context = store.get(piece.group or "")
    assert context is not None and context.is_group and context.id != group.id
    assert context.extra["context_for"] == line
    assert context.line_ids == ids
    assert all(store.active_id(i) != context.id for i in ids)
    assert piece.span is not None and piece.line_ids == [line]
    # The neighbours keep their chosen takes and still speak them; no piece was kept for them.
    for i in (ids[0], ids[2]):
        assert store.active_id(i) == before[i]
        assert window.book.take(window.scene.line_by_id(i)) == heard_before[i]
        assert not [t for t in store.takes_for(i) if t.group == context.id]
        assert not store.usable(context, window.book.key_of)  # it never speaks for them
    # The neighbours' Takes panels do not list the context render as theirs.
    window.select_rows([0])
    window.takes_room.refresh()
    assert window.takes_panel.tree.topLevelItemCount() == len(
        [t for t in window.book.takes_of(window.scene.lines[0]) if t.id != context.id])
    # The line's cut editor shows the context clip; undo goes back to the earlier choice.
    window.select_rows([1])
    window.takes_room.refresh()
    assert window.takes_panel.cut_view is not None
    assert window.takes_panel.cut_view.group == context.id
    assert window.undo.undoText() == "New take in context"
    window.undo.undo()
    assert store.active_id(line) == before[line]
    assert TakeStore(store.root).active_id(line) == before[line]
    window.undo.redo()
    assert TakeStore(store.root).active_id(line) == piece.id


class PaidRender:
    """The render room as seen in paid mode, with no service behind it."""

    sandbox = False

    async def ensure_service(self) -> Any:
        raise AssertionError("nothing may be sent before the writer agrees")


def test_in_paid_mode_the_price_of_the_one_request_is_shown_first(
        window: MainWindow, qloop: Any) -> None:
    window.select_rows([2])
    window.takes_room.use_render(PaidRender())
    window.prompter.answers = ["Cancel"]  # type: ignore[union-attr]
    op = window.takes_room.new_take_in_context()
    assert op is not None and op.task is not None
    assert run(qloop, op.task) is None
    asked = window.prompter.asked  # type: ignore[union-attr]
    assert len(asked) == 1
    from editor.core.planner import build_request
    from editor.core.pricing import format_credits

    lines = window.scene.lines
    cost = build_request(window.scene, [lines[1], lines[2], lines[3]]).cost
    assert asked[0].text.startswith(
        f"{format_credits(cost)} for 1 request of 3 lines; only line 3's part is kept")
    assert asked[0].choices == ("Render", "Cancel")
    assert not window.takes.takes_for(lines[2].id)


def test_neighbours_of_another_stability_stay_out(window: MainWindow) -> None:
    from editor.engine.grouptakes import context_request

    built = context_request(window.scene, 3)  # line 5 has its own stability
    assert built is not None
    request, where = built
    assert request.line_ids == (window.scene.lines[2].id, window.scene.lines[3].id)
    assert where == 1


def test_a_line_without_usable_neighbours_is_told_to_use_new_take(window: MainWindow) -> None:
    lines = window.scene.lines
    window.scene.set_fields([0, 2], "locked", [True, True])
    window.select_rows([1])
    messages: list[str] = []
    window.takes_room.message.connect(lambda text, _ms: messages.append(text))
    assert window.takes_room.new_take_in_context() is None
    assert messages and "no neighbour" in messages[-1] and lines[1].text
