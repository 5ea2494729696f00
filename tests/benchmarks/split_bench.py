"""``bench split``: the dialogue splitter against a generated labeled set (see split_corpus),
beside the silence-only baseline on the same clips. Seeded: the same clips every run."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from editor.engine import split as splitter
from tests.benchmarks.split_corpus import LabeledClip, error, make_clip

SEED = 20261124
CLIPS = 40  # 3-7 lines each: about 190 boundaries


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _score(clips: list[LabeledClip], run: Callable[[LabeledClip], splitter.Split]
           ) -> tuple[list[float], list[bool], float, float]:
    errors: list[float] = []
    flagged: list[bool] = []
    wall = cpu = 0.0
    for clip in clips:
        t0, c0 = time.perf_counter(), _cpu()
        result = run(clip)
        wall += time.perf_counter() - t0
        cpu += _cpu() - c0
        errors += [error(c.at, gap) for c, gap in zip(result.cuts, clip.truth, strict=True)]
        flagged += [c.uncertain for c in result.cuts]
    return errors, flagged, wall, cpu


def _figures(errors: list[float]) -> str:
    e = np.asarray(errors)
    return (f"{np.mean(e <= 0.150):.1%} within 150 ms ({np.mean(e == 0):.1%} inside the true gap), "
            f"median {statistics.median(errors) * 1000:.0f} ms, worst {e.max() * 1000:.0f} ms")


def bench(row: Callable[[str, str, str, str], None], ok: Callable[[bool], str]) -> None:
    t0 = time.perf_counter()
    clips = [make_clip(SEED + k) for k in range(CLIPS)]
    audio = sum(c.seconds for c in clips)
    n = sum(len(c.truth) for c in clips)
    near_tag = [any("[" in t and "pause" not in t and "sarcastic" not in t
                    for t in (c.texts[i], c.texts[i + 1]))
                for c in clips for i in range(len(c.truth))]
    print(f"    labeled set: {len(clips)} clips, {n} boundaries, {audio / 60:.1f} min of audio, "
          f"made in {time.perf_counter() - t0:.0f} s (seed {SEED})")
    errors, flagged, wall, cpu = _score(
        clips, lambda c: splitter.split_clip(c.audio, c.rate, c.texts, c.voices))
    base, _, _, _ = _score(
        clips, lambda c: splitter.split_clip(c.audio, c.rate, c.texts, method="silence"))
    e = np.asarray(errors)
    good = bool(np.mean(e <= 0.150) >= 0.95 and e.max() <= 0.5)
    row(f"split {n} boundaries ({len(clips)} clips, voices unlike the reference)",
        _figures(errors) + f"; baseline (N−1 longest silences): {_figures(base)}",
        "≥ 95% within 150 ms, none worse than 500 ms", ok(good))
    tag_e = e[np.asarray(near_tag)]
    bad = e > 0.150
    row("split: boundaries next to a tag that makes sound; cuts marked uncertain",
        f"{np.mean(tag_e <= 0.150):.1%} of {len(tag_e)} within 150 ms, worst "
        f"{tag_e.max() * 1000:.0f} ms; uncertain: {sum(flagged)} of {n} cuts, "
        f"{int(np.sum(bad & np.asarray(flagged)))} of the {int(bad.sum())} off by > 150 ms",
        "tags stay with their line", ok(bool(np.mean(tag_e <= 0.150) >= 0.95)))
    load = os.getloadavg()[0]
    row("split speed (espeak-ng reference + features + DTW + snapping)",
        f"{audio / wall:.0f}× real time ({audio:.0f} s of audio in {wall:.1f} s); "
        f"{audio / cpu:.0f}× per CPU second; load average {load:.1f} on {os.cpu_count()} cores",
        "≥ 50× real time", ok(audio / wall >= 50))
    splitter.USE_ESPEAK = False
    try:
        plain, _, _, _ = _score(
            clips, lambda c: splitter.split_clip(c.audio, c.rate, c.texts, c.voices))
    finally:
        splitter.USE_ESPEAK = True
    row("split without espeak-ng (length-only stand-in reference; every cut marked uncertain)",
        _figures(plain), "for information", "")
