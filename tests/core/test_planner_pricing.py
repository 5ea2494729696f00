"""Request planning and pricing: the exact requests and the money."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from editor.core.catalog import model, request_cost
from editor.core.planner import Mode, PlanError, plan
from editor.core.pricing import CostTracker, format_credits
from editor.core.scene import Scene

V3 = model("elevenlabs-v3")


def scene_of(*specs: tuple[str, str, float | None, str | None], voices: dict[str, str] | None = None
             ) -> Scene:
    s = Scene()
    s.insert_lines(0, [s.new_line(sp, t, stability=st_, language_code=lang)
                       for sp, t, st_, lang in specs])
    for name, voice in (voices or {}).items():
        s.set_voice(name, voice)
    return s


def formula(chars: int) -> Fraction:
    return max(Fraction(1), Fraction(28, 1000) * chars)


def test_model_table_comes_from_resources() -> None:
    assert (V3.min_credits, V3.credits_per_1000_chars, V3.max_chars, V3.max_voices) == (1, 28, 2000, 10)


@pytest.mark.parametrize("chars", [0, 1, 35, 36, 100, 2000])
def test_request_cost_is_max_of_minimum_and_rate(chars: int) -> None:
    assert request_cost(chars, V3) == formula(chars)


def test_credit_display_is_two_decimals_marked_estimate() -> None:
    assert format_credits(Fraction(28 * 37, 1000)) == "≈ 1.04 credits"
    assert format_credits(Fraction(1)) == "≈ 1.00 credit"
    assert format_credits(Fraction(1245, 1000)) == "≈ 1.25 credits"  # half-up, not banker's


def test_lines_mode_one_request_per_line_with_effective_settings() -> None:
    s = scene_of(("MARA", "[whispers] Did you hear that?", None, None),
                 ("JONAS", "Only the wind.", 1.0, "en"), voices={"MARA": "Sarah", "JONAS": "George"})
    reqs = plan(s, Mode.LINES)
    assert [r.body for r in reqs] == [
        {"model": "elevenlabs-v3", "dialogue": [{"text": "[whispers] Did you hear that?",
                                                 "voice": "Sarah"}],
         "stability": 0.5, "language_code": "auto"},
        {"model": "elevenlabs-v3", "dialogue": [{"text": "Only the wind.", "voice": "George"}],
         "stability": 1.0, "language_code": "en"},
    ]
    assert [r.cost for r in reqs] == [formula(29), formula(14)]


def test_voice_is_omitted_when_the_cast_has_none() -> None:
    s = scene_of(("A", "Hi.", None, None))
    assert plan(s)[0].body["dialogue"] == [{"text": "Hi."}]


def test_take_mode_groups_consecutive_lines_sharing_settings() -> None:
    s = scene_of(("A", "one", None, None), ("B", "two", 0.5, None), ("A", "three", 1.0, None),
                 ("B", "four", 1.0, None), ("A", "five", None, "fr"), ("B", "six", None, None))
    reqs = plan(s, Mode.TAKE)
    # Line 2's explicit 0.5 equals the scene's value: it shares settings with line 1.
    assert [len(r.line_ids) for r in reqs] == [2, 2, 1, 1]
    assert [r.body["stability"] for r in reqs] == [0.5, 1.0, 0.5, 0.5]
    assert reqs[2].body["language_code"] == "fr"
    assert reqs[0].cost == formula(6)


def test_take_mode_splits_at_the_character_limit_between_lines() -> None:
    s = scene_of(*[("A", "x" * 700, None, None)] * 5)
    reqs = plan(s, "take")
    assert [r.characters for r in reqs] == [1400, 1400, 700]
    assert all(r.characters <= 2000 for r in reqs)


def test_take_mode_splits_at_ten_distinct_voices() -> None:
    specs = [(f"S{i}", "hi", None, None) for i in range(23)]
    s = scene_of(*specs, voices={f"S{i}": f"Voice{i}" for i in range(23)})
    reqs = plan(s, "take")
    assert [len(r.line_ids) for r in reqs] == [10, 10, 3]


def test_a_line_over_the_limit_is_an_error_naming_it() -> None:
    s = scene_of(("A", "ok", None, None), ("BOB", "y" * 2001, None, None))
    for mode in ("lines", "take"):
        with pytest.raises(PlanError, match=r"Line 2 \(BOB\) has 2001 characters"):
            plan(s, mode)


def test_selection_in_take_mode_never_sends_unselected_rows() -> None:
    s = scene_of(*[("A", f"line {i}", None, None) for i in range(6)])
    reqs = plan(s, "take", rows=[0, 1, 4])
    assert [r.line_ids for r in reqs] == [(s.lines[0].id, s.lines[1].id), (s.lines[4].id,)]


def test_cache_key_depends_on_what_decides_the_audio() -> None:
    s = scene_of(("A", "Hello.", None, None), voices={"A": "Sarah"})
    k1 = plan(s)[0].key
    s.set_text(0, "Hello!")
    k2 = plan(s)[0].key
    s.set_voice("A", "Aria")
    k3 = plan(s)[0].key
    s.set_field([0], "stability", 1.0)
    k4 = plan(s)[0].key
    s.set_field([0], "language_code", "en")
    k5 = plan(s)[0].key
    assert len({k1, k2, k3, k4, k5}) == 5
    s.set_setting("title", "Another title")
    assert plan(s)[0].key == k5


# --- live totals: incremental equals a full re-plan ------------------------------------------

def totals(s: Scene) -> tuple[Fraction, Fraction, int]:
    lines = sum((r.cost for r in plan(s, "lines")), Fraction(0))
    takes = plan(s, "take")
    return lines, sum((r.cost for r in takes), Fraction(0)), len(takes)


def highs(s: Scene) -> tuple[Fraction, Fraction]:
    """Both modes' totals with each request rounded up to a whole credit."""
    from editor.engine.renderplan import Estimate

    return Estimate.of(plan(s, "lines")).high, Estimate.of(plan(s, "take")).high


def test_tracker_matches_the_planner_after_each_edit() -> None:
    s = scene_of(*[("A" if i % 3 else "B", "word " * (i % 50), None, None) for i in range(1, 60)])
    t = CostTracker(s)
    assert (t.lines_total, t.take_total, t.take_requests) == totals(s)
    s.set_text(10, "x" * 1900)
    assert (t.lines_total, t.take_total, t.take_requests) == totals(s)
    s.set_field([20, 21], "stability", 1.0)
    assert (t.lines_total, t.take_total, t.take_requests) == totals(s)
    s.delete_lines([5, 6, 7])
    s.insert_lines(3, [s.new_line("C", "a new line")])
    s.move_lines([0, 1], 30)
    assert (t.lines_total, t.take_total, t.take_requests) == totals(s)


edits = st.lists(st.tuples(st.integers(0, 39), st.integers(0, 1999),
                           st.sampled_from(["text", "empty", "stability", "speaker", "lock"])),
                 max_size=25)


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 1200), min_size=40, max_size=40), edits=edits)
def test_incremental_totals_equal_full_replan(lengths: list[int],
                                              edits: list[tuple[int, int, str]]) -> None:
    s = scene_of(*[(f"S{i % 12}", "a" * n, None, None) for i, n in enumerate(lengths)],
                 voices={f"S{i}": f"V{i}" for i in range(12)})
    t = CostTracker(s)
    for row, n, what in edits:
        if what == "text":
            s.set_text(row, "b" * max(1, n))
        elif what == "empty":
            s.set_text(row, " " * (n % 3))
        elif what == "stability":
            s.set_field([row], "stability", [0.0, 0.5, 1.0, None][n % 4])
        elif what == "lock":  # locked lines are never sent, so never priced
            s.set_field([row], "locked", not s.lines[row].locked)
        else:
            s.set_field([row], "speaker", f"S{n % 14}")
            if f"S{n % 14}" in s.cast and not s.cast[f"S{n % 14}"].voice:
                s.set_voice(f"S{n % 14}", f"V{n % 14}")
        assert (t.lines_total, t.take_total, t.take_requests) == totals(s)
        assert (t.lines_high, t.take_high) == highs(s)
        assert t.lines_requests == len(plan(s, "lines"))
        assert t.take_starts == [s.row_of(r.line_ids[0]) for r in plan(s, "take")]


def test_empty_lines_cost_nothing_and_split_no_take() -> None:
    s = scene_of(("A", "one", None, None), ("A", "", None, None), ("B", "two", None, None),
                 ("A", "   ", 1.0, None))
    t = CostTracker(s)
    reqs = plan(s, "take")
    assert [r.line_ids for r in reqs] == [(s.lines[0].id, s.lines[2].id)]
    assert len(plan(s, "lines")) == 2
    assert (t.lines_total, t.take_total, t.take_requests, t.lines_requests) == (2, 1, 1, 2)
    s.set_text(1, "now it speaks")
    assert (t.lines_total, t.take_total, t.take_requests) == totals(s)


def test_selection_cost_in_both_modes() -> None:
    s = scene_of(*[("A", "x" * 10, None, None) for _ in range(4)])
    t = CostTracker(s)
    by_line, as_take = t.selection_cost([0, 1])
    assert by_line == 2  # two minimum-priced requests
    assert as_take == 1  # one request of 20 characters


def test_tracker_on_an_empty_scene_then_first_line() -> None:
    s = Scene()
    t = CostTracker(s)
    assert (t.lines_total, t.take_total, t.take_requests) == (0, 0, 0)
    s.insert_lines(0, [s.new_line("A", "")])
    s.set_text(0, "Hello")
    assert (t.lines_total, t.take_total, t.take_requests) == (1, 1, 1)
