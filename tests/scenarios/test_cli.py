"""The ``castline`` command as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from editor.core import sceneio
from editor.core.scene import Scene
from tests.conftest import subprocess_env


def castline(*args: str, env: dict[str, str] | None = None, timeout: float = 120
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "editor", *args], capture_output=True,
                          text=True, env=env or subprocess_env(), timeout=timeout, check=False)


def no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout


def formula(chars: int) -> float:
    return float(max(Fraction(1), Fraction(28, 1000) * chars))


def write_scene(path: Path, specs: list[tuple[str, str, float | None, str | None]]) -> Path:
    s = Scene(title="Cost test")
    s.insert_lines(0, [s.new_line(a, t, stability=st, language_code=lg) for a, t, st, lg in specs])
    sceneio.save(s, path)
    return path


@pytest.mark.parametrize("specs", [
    [("A", "Hi.", None, None), ("B", "Yo.", None, None), ("A", "Bye.", None, None)],
    [("A", "x" * 1500, None, None), ("B", "y" * 900, None, None), ("A", "z" * 1999, None, None)],
    [("A", "short", 0.0, None), ("B", "w" * 400, 0.0, None), ("A", "v" * 40, 1.0, "en"),
     ("B", "u" * 77, None, "en"), ("A", "t" * 12, None, None)],
], ids=["minimum", "long", "mixed"])
def test_cost_json_equals_the_formula(tmp_path: Path, specs: list) -> None:
    path = write_scene(tmp_path / "s.castline", specs)
    p = castline("cost", str(path), "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    lines = result["modes"]["lines"]
    assert lines["requests"] == len(specs)
    assert lines["characters"] == sum(len(t) for _, t, _, _ in specs)
    assert lines["credits"] == pytest.approx(sum(formula(len(t)) for _, t, _, _ in specs), abs=1e-9)
    # Take mode by hand: consecutive lines sharing effective (stability, language), <= 2000 chars.
    groups: list[list[int]] = []
    key = None
    for _, text, st, lg in specs:
        k = (0.5 if st is None else st, "auto" if lg is None else lg)
        if groups and k == key and sum(groups[-1]) + len(text) <= 2000:
            groups[-1].append(len(text))
        else:
            groups.append([len(text)])
        key = k
    take = result["modes"]["take"]
    assert take["requests"] == len(groups)
    assert take["credits"] == pytest.approx(sum(formula(sum(g)) for g in groups), abs=1e-9)
    assert result["estimate"] is True


def test_cost_human_output_marks_estimates(sample_path: Path) -> None:
    p = castline("cost", str(sample_path))
    assert p.returncode == 0
    assert "≈" in p.stdout and "As dialogue" in p.stdout


def test_import_then_cost(tmp_path: Path) -> None:
    src = Path(__file__).parents[1] / "data" / "fountain" / "brick-and-steel.fountain"
    out = tmp_path / "brick.castline"
    p = castline("import", str(src), "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert "Imported 24 lines" in p.stdout
    assert len(sceneio.load(out)) == 24
    again = castline("import", str(src), "-o", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["cost", "missing.castline"], "no such file"),
    (["cost", "{bad}"], "damaged"),
    (["render", "{good}", "-o", "out.ogg"], "must end in .wav, .flac or .mp3"),
    (["render", "{good}", "-o", "out.wav"], "No API key is set"),
    (["import", "nothing.fountain", "-o", "x.castline"], "no such file"),
    (["cost"], "the following arguments are required"),
    (["bogus-flag-only", "--nope"], "unrecognized arguments"),
])
def test_bad_input_is_one_clear_paragraph(tmp_path: Path, sample_path: Path, args: list[str],
                                          message: str) -> None:
    bad = tmp_path / "bad.castline"
    bad.write_text('{"format": "castline-scene", "version": 1, "lines": [')
    args = [a.replace("{bad}", str(bad)).replace("{good}", str(sample_path)) for a in args]
    p = subprocess.run([sys.executable, "-m", "editor", *args], capture_output=True, text=True,
                       env=subprocess_env(), cwd=tmp_path, check=False, timeout=60)
    assert p.returncode != 0
    no_traceback(p)
    assert message in p.stderr
    assert p.stderr.startswith("castline: ")
    assert p.stderr.strip().count("\n") == 0  # one paragraph


@pytest.mark.parametrize("command", ["render", "cost", "import", "sandbox", "key"])
def test_every_command_has_help(command: str) -> None:
    p = castline(command, "--help")
    assert p.returncode == 0
    assert "usage: castline " + command in p.stdout
