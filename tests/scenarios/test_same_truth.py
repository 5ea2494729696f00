"""The window and the command line tell the same truth about money.

One scene, with locked lines, lines whose audio is already paid for (in the cache, or in
the project's takes, as after a move to another machine) and stability changes that split
the dialogue requests, is priced by the window's cost panel and by ``castline cost
--json``: every figure must agree, in both modes.
"""

from __future__ import annotations

import asyncio
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from editor import cli
from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.core.planner import plan
from editor.engine.cache import AudioCache
from editor.engine.project import keep_take
from editor.engine.renderplan import render_now, total_estimate
from editor.engine.takes import TakeStore, takes_dir_for
from editor.ui.mainwindow import MainWindow
from editor.ui.scene.model import COL_CREDITS
from tests.support.ui_helpers import make_settings


def a_clip(path: Path) -> Path:
    soundfile.write(path, np.zeros((2205, 1), np.float32) + 0.01, 22050)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The sample scene with rows 3 and 7 locked, rows 5–6 at another stability, row 1's
    audio in this machine's cache and row 2's in the project's takes (paid elsewhere)."""
    scene = sceneio.loads(read_resource_text("samples/night-ferry.castline"), "s.castline")
    scene.set_field([3, 7], "locked", True)
    scene.set_field([5, 6], "stability", 1.0)
    path = tmp_path / "truth.castline"
    sceneio.save(scene, path)
    line1, line2 = plan(scene, "lines", [1]), plan(scene, "lines", [2])
    AudioCache().put(line1[0].key, a_clip(tmp_path / "one.wav"))
    keep_take(TakeStore(takes_dir_for(path)), line2[0], a_clip(tmp_path / "two.wav"),
              sandbox=False)
    return path


def cli_figures(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert cli.main(["cost", str(path), "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_window_and_cli_price_the_same_scene_the_same(
        project: Path, tmp_path: Path, qtbot: Any, qloop: asyncio.AbstractEventLoop,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("APIINONE_API_KEY", "test-not-a-real-key-0000")
    monkeypatch.setenv("APIINONE_BASE_URL", "http://127.0.0.1:9")  # nothing is sent here
    figures = cli_figures(project, capsys)
    window = MainWindow(make_settings(tmp_path), sandbox=False)
    qtbot.addWidget(window)
    window.confirm_discard = lambda: True  # type: ignore[method-assign]
    try:
        window.set_scene(sceneio.load(project), project)
        assert not window.render.sandbox
        seen = set()
        for index in range(window.mode_combo.count()):
            window.mode_combo.setCurrentIndex(index)
            mode = window.document.mode
            seen.add(mode)
            cli_mode = figures["modes"][mode]
            now = window.update_costs()
            total = total_estimate(window.document.costs, mode)
            # The totals: every unlocked line, in this mode.
            assert total.requests == cli_mode["requests"]
            assert float(total.low) == pytest.approx(cli_mode["credits"])
            assert float(total.high) == pytest.approx(cli_mode["credits_high"])
            assert cli_mode["locked_lines"] == 2
            # What a render now costs: lines 2 and 3 are paid for already (as dialogue they
            # share a request with unready lines, which is sent whole).
            assert float(now.low) == pytest.approx(cli_mode["credits_to_pay"])
            assert float(now.high) == pytest.approx(cli_mode["credits_to_pay_high"])
            assert (now.low < total.low) == (mode == "lines")
            # The panel shows exactly these figures, and the Credits column adds up to the
            # mode's total (each line its share of its dialogue request; locked lines none).
            assert now.text() in window.cost_panel.render_now.text()
            column = sum((window.document.costs.line_share(r, mode) for r in range(len(window.scene))),
                         Fraction(0))
            assert column == total.low
            for row in (3, 7):
                assert window.model.data(window.model.index(row, COL_CREDITS)) == "–"
            # And the engine's plan for a render agrees with both.
            from editor.engine.renderplan import build_plan

            render_plan = build_plan(window.scene, mode, window.book)
            assert render_plan.cost == now
            assert render_now(window.document.costs, mode, lambda _r: False) == total
        assert seen == {"lines", "take"}
    finally:
        qloop.run_until_complete(window.shutdown())


def test_sandbox_audio_is_never_taken_for_paid_audio(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = sceneio.loads(read_resource_text("samples/night-ferry.castline"), "s.castline")
    path = tmp_path / "s.castline"
    sceneio.save(scene, path)
    store = TakeStore(takes_dir_for(path))
    for request in plan(scene, "lines"):
        keep_take(store, request, a_clip(tmp_path / f"{request.key}.wav"), sandbox=True)
    capsys.readouterr()
    # Paid: everything is still to pay for, and export says why, without offering it as audio.
    paid = cli_figures(path, capsys)["modes"]["lines"]
    assert paid["credits_to_pay"] == paid["credits"] > 0
    status = cli.main(["export", str(path), "--to", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert "only sandbox audio" in err and "--sandbox" in err
    # With --sandbox, that audio is what exports.
    out = tmp_path / "out"
    out.mkdir()
    assert cli.main(["export", str(path), "--to", str(out), "--sandbox", "--what", "mix"]) == 0
    assert any(out.iterdir())



def test_the_rounding_is_learnt_from_the_balance() -> None:
    from editor.engine.renderplan import Estimate, learn_rounding

    scene = sceneio.loads(read_resource_text("samples/night-ferry.castline"), "s.castline")
    sent = plan(scene, "lines", [0, 1, 2])
    estimate = Estimate.of(sent)
    assert estimate.low < estimate.high
    assert learn_rounding(100.0, 100.0 - float(estimate.high), sent) == "per request"
    assert learn_rounding(100.0, 100.0 - float(estimate.low), sent) == "exact"
    assert learn_rounding(100.0, 90.0, sent) is None  # something else was spent meanwhile
    assert learn_rounding(None, 90.0, sent) is None
    assert learn_rounding(100.0, 100.0, []) is None
