"""Cut a dialogue clip into its lines (issue 17): where each line starts and ends, how sure we are.

Two sources, in this order:

1. **The service's answer.** ElevenLabs' ``text-to-dialogue/with-timestamps`` answers with
   ``voice_segments`` (voice id, start and end seconds, character range,
   ``dialogue_input_index``) and a per-character ``alignment``. When an answer carries either
   (camelCase too, at the top or under ``data``/``output``/``result``), each line's start and
   end are taken from it verbatim (:func:`segments_from_answer`).
2. **Local alignment** (:func:`align_lines`). The same lines are spoken locally with espeak-ng
   in a fixed reference voice (text on standard input, never as an argument), with a short
   placeholder sound for tags that make sound (``[laughs]``, ``[sighs]``...) and silence for
   pause tags. Both signals become 10 ms frames of MFCCs (numpy's FFT) plus a speech/silence
   level; a banded DTW (40 ms frames, each row one vectorised step; finer passes are
   supported but measured no better) aligns the reference to the clip; the gap between
   reference lines is carried through the path, and the cut snaps to the quietest 15 ms
   within ±150 ms of it. A cut that is not in silence, whose stretch of the path matched
   badly, or that has an equally quiet rival nearby gets a low confidence and is marked
   *uncertain*; so is one where the script says the lines overlap (``[interrupting]``).

:func:`split_by_silence` (cut at the N-1 longest silences) is kept as the baseline the
benchmark compares against; it fails on real exchanges, where a pause inside a line is often
longer than the gap between two lines.

Qt-free, numpy only.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import math
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import soundfile

from editor.engine.audio import Clip, resample
from editor.engine.voice import run_espeak

F64 = npt.NDArray[np.float64]
Source = Literal["answer", "alignment", "silence", "single"]

HOP = 0.010  # seconds per feature frame
SNAP = 0.150  # a cut moves at most this far to find silence
UNCERTAIN_BELOW = 0.5
REF_RATE = 22050  # espeak-ng's own rate: no resampling
REF_GAP = 0.20  # silence between two lines of the reference
REF_VOICE_SPEED = "170"
REF_VOICE_PITCH = "50"
BREAK_MS = 1200
USE_ESPEAK = True  # False: the length-only stand-in, as on a machine without espeak-ng


# Tags that make sound in v3 (they belong to their line) and the pause tags (silence).
SOUND_TAGS = frozenset({
    "laughs", "laughs harder", "starts laughing", "laughing", "chuckles", "giggles", "wheezing",
    "sighs", "exhales", "exhales sharply", "inhales", "inhales deeply", "breathes", "gasps",
    "crying", "sobs", "snorts", "clears throat", "coughs", "gulps", "swallows", "sniffs",
    "groans", "yawns", "whistles", "screams",
})
PAUSE_TAGS = {"short pause": 0.25, "pause": 0.5, "long pause": 1.0}
_TAG = re.compile(r"\[([^\]]*)\]")
_LANGUAGE = re.compile(r"[a-z]{2}")


# --- results ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Cut:
    """The cut between line ``i`` and line ``i + 1``: a point in the clip, in seconds."""

    at: float
    confidence: float  # 0..1
    uncertain: bool


@dataclass(frozen=True, slots=True)
class LineSpan:
    """Where one line is in the clip, in seconds.

    From the answer: the segment's start and end, verbatim (there may be a gap or an overlap
    between two lines). From the alignment or the silence baseline: the part of the clip
    between the cut before the line (or 0) and the cut after it (or the clip's end), so the
    natural gap between two lines is shared at its quietest point.
    """

    start: float
    end: float
    confidence: float  # the lower of its two cuts' (1.0 from the answer)
    uncertain: bool

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Split:
    lines: tuple[LineSpan, ...]
    cuts: tuple[Cut, ...]  # len(lines) - 1: where to cut the clip into per-line takes
    source: Source
    duration: float  # of the whole clip, seconds

    @property
    def uncertain(self) -> bool:
        return any(c.uncertain for c in self.cuts)

    def bounds(self) -> list[tuple[float, float]]:
        """Each line's piece of the clip for a per-line take: from cut to cut (0 and the clip's
        end at the ends), whatever the source, so nothing between two lines is lost."""
        edges = [0.0, *(c.at for c in self.cuts), self.duration]
        return [(edges[i], edges[i + 1]) for i in range(len(self.lines))]


# --- the entry point ----------------------------------------------------------------------------

def split_clip(samples: npt.ArrayLike, rate: int, texts: Sequence[str],
               voices: Sequence[str] | None = None, *, answer: Any = None,
               language: str = "en", method: Literal["auto", "align", "silence"] = "auto",
               ) -> Split:
    """Each line's start, end and confidence in a dialogue clip.

    ``samples``: mono (or frames x channels, mixed down) audio at ``rate``; ``texts``: the
    lines in order, audio tags included; ``voices``: their voices (kept for the record; the
    alignment does not need them); ``answer``: the service's answer (a dict, or its JSON),
    whose segments win when it carries any. ``method="silence"`` is the baseline.
    """
    x = mono(samples)
    n = len(texts)
    if n == 0:
        raise ValueError("no lines to split the clip into")
    if voices is not None and len(voices) != n:
        raise ValueError("one voice per line, please")
    duration = len(x) / rate if rate > 0 else 0.0
    if rate <= 0:
        raise ValueError("the sample rate must be positive")
    if n == 1:
        return Split((LineSpan(0.0, duration, 1.0, False),), (), "single", duration)
    if method == "auto" and answer is not None:
        spans = segments_from_answer(answer, texts, duration)
        if spans is not None:
            return _split_from_segments(x, rate, spans)
    if method == "silence":
        return split_by_silence(x, rate, n)
    return align_lines(x, rate, texts, language=language)


def split_audio(clip: Clip, texts: Sequence[str], voices: Sequence[str] | None = None,
                **kwargs: Any) -> Split:
    """:func:`split_clip` for a decoded :class:`~editor.engine.audio.Clip`."""
    return split_clip(clip.data, clip.rate, texts, voices, **kwargs)


def mono(samples: npt.ArrayLike) -> F64:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise ValueError("audio must be 1-D (mono) or frames x channels")
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


# --- segments from the service's answer ---------------------------------------------------------

_SEG_KEYS = ("voice_segments", "voiceSegments", "segments")
_ALIGN_KEYS = ("alignment", "normalized_alignment", "normalizedAlignment")
_NESTS = ("data", "output", "result", "results", "outputs")


def _num(d: dict[str, Any], *keys: str) -> float | None:
    for k in keys:
        v = d.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
    return None


def _find(obj: Any, keys: Sequence[str], depth: int = 0) -> Any:
    if depth > 4:
        return None
    if isinstance(obj, dict):
        for k in keys:
            if obj.get(k):
                return obj[k]
        for k in _NESTS:
            if k in obj:
                found = _find(obj[k], keys, depth + 1)
                if found is not None:
                    return found
    elif isinstance(obj, list):
        for item in obj[:8]:
            found = _find(item, keys, depth + 1)
            if found is not None:
                return found
    return None


def _line_char_ranges(texts: Sequence[str], total: int | None) -> list[tuple[int, int]]:
    """Character range of each line in the service's concatenated text: no separator, or one
    character between lines when the total says so."""
    sep = 1 if total is not None and total == sum(map(len, texts)) + len(texts) - 1 else 0
    out, pos = [], 0
    for t in texts:
        out.append((pos, pos + len(t)))
        pos += len(t) + sep
    return out


def segments_from_answer(answer: Any, texts: Sequence[str],
                         duration: float) -> list[tuple[float, float]] | None:
    """Each line's (start, end) in seconds from an answer's ``voice_segments`` or per-character
    ``alignment``; None when the answer has neither, or they do not cover every line sanely."""
    if isinstance(answer, bytes | str):
        try:
            answer = json.loads(answer)
        except (ValueError, RecursionError):
            return None
    n = len(texts)
    spans = _from_voice_segments(_find(answer, _SEG_KEYS), texts)
    if spans is None:
        spans = _from_alignment(_find(answer, _ALIGN_KEYS), texts)
    if spans is None or len(spans) != n:
        return None
    slack = 0.5 + 0.02 * duration
    for i, (s, e) in enumerate(spans):
        if not (0.0 <= s <= e <= duration + slack):
            return None
        if i and s < spans[i - 1][0]:
            return None
    return [(s, min(e, duration)) for s, e in spans]


def _from_voice_segments(segs: Any, texts: Sequence[str]) -> list[tuple[float, float]] | None:
    if not isinstance(segs, list) or not segs:
        return None
    n = len(texts)
    ranges = _line_char_ranges(texts, None)
    found: dict[int, list[float]] = {}
    for k, seg in enumerate(segs):
        if not isinstance(seg, dict):
            return None
        start = _num(seg, "start_time_seconds", "startTimeSeconds", "start_time", "start")
        end = _num(seg, "end_time_seconds", "endTimeSeconds", "end_time", "end")
        if start is None or end is None:
            return None
        index = _num(seg, "dialogue_input_index", "dialogueInputIndex", "input_index")
        if index is None:
            first = _num(seg, "character_start_index", "characterStartIndex")
            if first is not None:
                index = float(next((i for i, (a, b) in enumerate(ranges) if a <= first < b),
                                   n - 1))
            elif len(segs) == n:
                index = float(k)
            else:
                return None
        i = int(index)
        if not 0 <= i < n:
            return None
        if i in found:
            found[i] = [min(found[i][0], start), max(found[i][1], end)]
        else:
            found[i] = [start, end]
    if len(found) != n:
        return None
    return [(found[i][0], found[i][1]) for i in range(n)]


def _from_alignment(al: Any, texts: Sequence[str]) -> list[tuple[float, float]] | None:
    if not isinstance(al, dict):
        return None
    chars = al.get("characters") or al.get("chars")
    starts = al.get("character_start_times_seconds") or al.get("characterStartTimesSeconds")
    ends = al.get("character_end_times_seconds") or al.get("characterEndTimesSeconds")
    if not (isinstance(chars, list) and isinstance(starts, list) and isinstance(ends, list)):
        return None
    if not (len(chars) == len(starts) == len(ends)) or not chars:
        return None
    try:
        s_arr = np.asarray(starts, dtype=np.float64)
        e_arr = np.asarray(ends, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(s_arr).all() and np.isfinite(e_arr).all()):
        return None
    spans = []
    for a, b in _line_char_ranges(texts, len(chars)):
        idx = [k for k in range(a, min(b, len(chars)))
               if isinstance(chars[k], str) and chars[k].strip()]
        if not idx:
            return None
        spans.append((float(s_arr[idx].min()), float(e_arr[idx].max())))
    return spans


def _split_from_segments(x: F64, rate: int, spans: list[tuple[float, float]]) -> Split:
    duration = len(x) / rate
    lines = tuple(LineSpan(s, e, 1.0, False) for s, e in spans)
    e5 = _energy_db(x, rate)
    cuts = []
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start - end >= 0.02:  # a gap between them: cut at its quietest
            a, b = round(end / 0.005), round(start / 0.005)
            cut = _quiet_middle(e5, a, max(a + 1, b)) * 0.005 if b > a and b <= len(e5) else (
                (end + start) / 2)
            cuts.append(Cut(min(max(cut, end), start), 1.0, False))
        else:  # touching, or overlapping: the middle; an overlap cannot be cut cleanly
            overlap = end - start
            cuts.append(Cut((end + start) / 2, 1.0 if overlap <= 0.05 else 0.4, overlap > 0.05))
    return Split(lines, tuple(cuts), "answer", duration)


# --- frame features -----------------------------------------------------------------------------

def _frames(x: F64, rate: int, win_s: float, hop_s: float) -> F64:
    win = max(4, round(win_s * rate))
    hop = max(1, round(hop_s * rate))
    n = max(1, 1 + (len(x) - win) // hop) if len(x) >= win else 1
    padded = np.zeros(max(len(x), win + (n - 1) * hop), dtype=x.dtype)
    padded[:len(x)] = x
    view = np.lib.stride_tricks.sliding_window_view(padded, win)[::hop][:n]
    return np.asarray(view)


def _energy_db(x: F64, rate: int, hop_s: float = 0.005, win_s: float = 0.015) -> F64:
    """Short-time energy in dB, ``win_s`` windows every ``hop_s`` (frame k centred at
    k * hop_s)."""
    win = max(1, round(win_s * rate))
    hop = max(1, round(hop_s * rate))
    c = np.concatenate(([0.0], np.cumsum(x * x)))
    n = len(x) // hop + 1
    centres = np.arange(n) * hop
    lo = np.clip(centres - win // 2, 0, len(x))
    hi = np.clip(centres + win // 2 + 1, 0, len(x))
    power = (c[hi] - c[lo]) / np.maximum(1, hi - lo)
    return np.asarray(10 * np.log10(power + 1e-12))


def _mel_bank(rate: int, nfft: int, bands: int = 32) -> F64:
    top = min(7600.0, rate / 2 - 100)
    mel = np.linspace(2595 * np.log10(1 + 60 / 700), 2595 * np.log10(1 + top / 700), bands + 2)
    hz = 700 * (10 ** (mel / 2595) - 1)
    bins = np.fft.rfftfreq(nfft, 1 / rate)
    bank = np.zeros((bands, len(bins)))
    for b in range(bands):
        lo, mid, hi = hz[b], hz[b + 1], hz[b + 2]
        up = (bins - lo) / (mid - lo)
        down = (hi - bins) / (hi - mid)
        bank[b] = np.maximum(0, np.minimum(up, down))
    return bank


def _dct(n_in: int, n_out: int) -> F64:
    k = np.arange(n_out)[:, None]
    m = np.arange(n_in)[None, :]
    return np.asarray(np.cos(np.pi * k * (m + 0.5) / n_in))


@dataclass(frozen=True, slots=True)
class Features:
    mfcc: F64  # frames x 12, normalised over speech frames
    level: F64  # frames: 0 silence .. 1 speech
    db: F64  # frames: energy in dB


def features(x: F64, rate: int) -> Features:
    while rate > 32000:  # halve (with a pair average against aliasing): the FFT is cheaper
        x = 0.5 * (x[0: len(x) - 1: 2] + x[1::2])
        rate //= 2
    frames = _frames(x.astype(np.float32), rate, min(0.025, 512 / rate), HOP)
    nfft = 512
    z = np.fft.rfft(frames * np.hanning(frames.shape[1]).astype(np.float32), nfft)
    spec = np.asarray(z.real, dtype=np.float64) ** 2 + np.asarray(z.imag, dtype=np.float64) ** 2
    mel = spec @ _mel_bank(rate, nfft).T
    logmel = np.log(mel + 1e-10)
    mfcc = logmel @ _dct(logmel.shape[1], 13)[1:].T
    db = 10 * np.log10(spec.sum(axis=1) / nfft + 1e-12)
    level = _level(db)
    speech = level > 0.5
    ref = mfcc[speech] if speech.sum() >= 10 else mfcc
    mfcc = (mfcc - ref.mean(axis=0)) / (ref.std(axis=0) + 1e-6)
    return Features(mfcc, level, db)


LEVEL_FROM_DB = 3.0  # above the floor: the level starts here (a soft breath counts as sound)
LEVEL_SPAN = 0.45  # ...and reaches 1 this far (of the floor-to-peak range) above that


def _level(db: F64) -> F64:
    """0 (the noise floor) .. 1 (speech), from where the floor and the speech lie in this clip."""
    floor = float(np.percentile(db, 5))
    peak = float(np.percentile(db, 97))
    span = max(peak - floor, 12.0)
    return np.asarray(np.clip((db - floor - LEVEL_FROM_DB) / (LEVEL_SPAN * span), 0.0, 1.0))


# --- banded DTW ---------------------------------------------------------------------------------

SILENCE_MISMATCH = 1.6  # cost of matching speech with silence (spectral costs average ~1)


def _band_costs(ref: Features, clip: Features, lo: npt.NDArray[np.int64],
                width: int, hi: npt.NDArray[np.int64]) -> F64:
    """The local cost of every cell of the band, rows x ``width`` (inf outside a row's window),
    computed in blocks of rows with one matrix product each: the mean squared MFCC difference
    (its root) where both frames are speech, plus a fixed price for speech against silence."""
    rows = len(ref.level)
    out = np.full((rows, width), np.inf)
    dims = ref.mfcc.shape[1]
    rn = (ref.mfcc ** 2).sum(axis=1)
    cn = (clip.mfcc ** 2).sum(axis=1)
    block = 64
    cols = np.arange(width)
    for r0 in range(0, rows, block):
        r1 = min(rows, r0 + block)
        a, b = int(lo[r0:r1].min()), int(hi[r0:r1].max())
        sq = rn[r0:r1, None] + cn[None, a:b] - 2 * ref.mfcc[r0:r1] @ clip.mfcc[a:b].T
        spectral = np.sqrt(np.maximum(sq, 0.0) / dims)
        vr = ref.level[r0:r1, None]
        vc = clip.level[None, a:b]
        cost = SILENCE_MISMATCH * np.abs(vr - vc) + vr * vc * spectral
        # cell (r, lo[r] + j) of the band is column lo[r] + j - a of this block
        idx = lo[r0:r1, None] - a + cols[None, :]
        valid = cols[None, :] < (hi[r0:r1] - lo[r0:r1])[:, None]
        out[r0:r1] = np.where(valid, np.take_along_axis(cost, np.minimum(idx, b - a - 1), axis=1),
                              np.inf)
    return out


def dtw_path(ref: Features, clip: Features, lo: npt.NDArray[np.int64],
             hi: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], F64]:
    """Banded DTW: row r (a reference frame) may match clip frames lo[r]..hi[r]-1 (lo and hi
    non-decreasing, lo[0] = 0, hi[-1] = the clip's frame count). Steps (1,0), (0,1), (1,1).

    Each row is one vectorised step: with A[t] = c[t] + min(D'[t-1], D'[t]) from the previous
    row, D[t] = min(A[t], c[t] + D[t-1]) unrolls to S[t] + cummin(A - S)[t], S the cumulative
    sum of the row's costs. Returns, per reference frame, the middle clip frame it maps to, and
    the local cost the path paid there (for confidences).
    """
    rows = len(ref.level)
    widths = hi - lo
    width = int(widths.max())
    costs = _band_costs(ref, clip, lo, width, hi)
    acc = np.full((rows, width + 1), np.inf)  # one spare inf column
    acc[0, : widths[0]] = np.cumsum(costs[0, : widths[0]])
    ext = np.full(width + 1, np.inf)
    for r in range(1, rows):
        a, w = int(lo[r]), int(widths[r])
        pa = int(lo[r - 1])
        c = costs[r, :w]
        # ext[j] = D'[a - 1 + j] for j in 0..w, inf outside the previous row's window
        ext[: w + 1] = np.inf
        s0 = max(a - 1, pa)
        s1 = min(a + w, pa + int(widths[r - 1]))
        if s1 > s0:
            ext[s0 - a + 1: s1 - a + 1] = acc[r - 1, s0 - pa: s1 - pa]
        best = np.minimum(ext[:w], ext[1: w + 1])
        s = np.cumsum(c)
        acc[r, :w] = s + np.minimum.accumulate(c + best - s)
    # backtrack, on Python lists (cheaper per cell than numpy scalars)
    lo_l = lo.tolist()
    hi_l = hi.tolist()
    mapped_lo = [-1] * rows
    mapped_hi = [0] * rows
    paid = [0.0] * rows
    inf = math.inf
    r, t = rows - 1, int(hi_l[-1]) - 1
    row_cache: dict[int, list[float]] = {}

    def at(rr: int, tt: int) -> float:
        a = lo_l[rr]
        if tt < a or tt >= hi_l[rr]:
            return inf
        got = row_cache.get(rr)
        if got is None:
            got = row_cache[rr] = acc[rr, : hi_l[rr] - a].tolist()
        return float(got[tt - a])

    while True:
        if mapped_lo[r] < 0:
            mapped_lo[r] = t
        mapped_lo[r] = min(mapped_lo[r], t)
        mapped_hi[r] = max(mapped_hi[r], t)
        paid[r] = max(paid[r], float(costs[r, t - lo_l[r]]))
        if r == 0 and t == 0:
            break
        diag = at(r - 1, t - 1) if r > 0 and t > 0 else inf
        up = at(r - 1, t) if r > 0 else inf
        left = at(r, t - 1) if t > 0 else inf
        if diag <= up and diag <= left:
            r, t = r - 1, t - 1
        elif up <= left:
            r -= 1
        else:
            t -= 1
        if min(diag, up, left) == inf:
            break
    mapped = (np.asarray(mapped_lo) + np.asarray(mapped_hi)) / 2
    return np.asarray(np.round(mapped), dtype=np.int64), np.asarray(paid)


def _coarsen(f: Features, k: int) -> Features:
    n = len(f.level) // k
    if n < 2:
        return f

    def avg(a: F64) -> F64:
        return np.asarray(a[: n * k].reshape(n, k, *a.shape[1:]).mean(axis=1))

    return Features(avg(f.mfcc), avg(f.level), avg(f.db))


PASSES = (4,)  # one DTW at 40 ms: measured as accurate as adding a 20 or 10 ms pass, and faster
FINE_RADIUS = 0.4  # seconds each side of the coarse path


def align_frames(ref: Features, clip: Features, passes: Sequence[int] | None = None
                 ) -> tuple[npt.NDArray[np.int64], F64]:
    """Map every reference frame (10 ms) to a clip frame: the first DTW in a wide band around
    the diagonal (at least 2.4 s, or 30% of the clip, each side; at most 24 s), each later one
    within ±``FINE_RADIUS`` of the previous path. Returns the mapping and the local cost paid
    per reference frame."""
    path: npt.NDArray[np.int64] | None = None
    prev_k = 1
    cost = np.zeros(1)
    for k in PASSES if passes is None else passes:
        cr, cc = _coarsen(ref, k), _coarsen(clip, k)
        rows, cols = len(cr.level), len(cc.level)
        if path is None:
            centre = np.arange(rows) * (cols / max(1, rows))
            half = min(max(2.4 / (HOP * k), 0.3 * cols), 24 / (HOP * k))
        else:
            # the previous path, in this pass's frames
            ridx = np.minimum(np.arange(rows) * k // prev_k, len(path) - 1)
            centre = (path[ridx] * prev_k + prev_k // 2) / k
            half = FINE_RADIUS / (HOP * k)
        lo = np.clip(np.floor(centre - half), 0, cols - 1)
        hi = np.clip(np.ceil(centre + half) + 1, 1, cols)
        path, cost = dtw_path(cr, cc, *_connect(lo, hi, cols))
        prev_k = k
    assert path is not None
    n = len(ref.level)
    ridx = np.minimum(np.arange(n) // prev_k, len(path) - 1)
    mapped = np.minimum(path[ridx] * prev_k + prev_k // 2, len(clip.level) - 1)
    return np.asarray(mapped, dtype=np.int64), np.asarray(cost[ridx])


def _connect(lo: npt.NDArray[Any], hi: npt.NDArray[Any], cols: int
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row windows that make one connected band from (0, 0) to the last cell: non-decreasing,
    each at least one frame wide, each starting no later than the previous one ends."""
    lo = np.maximum.accumulate(np.asarray(lo, dtype=np.int64))
    hi = np.maximum.accumulate(np.asarray(hi, dtype=np.int64))
    lo[0], hi[-1] = 0, cols
    hi = np.maximum(hi, lo + 1)
    lo[1:] = np.minimum(lo[1:], hi[:-1])
    return np.maximum.accumulate(lo), hi


# --- the reference reading ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Reference:
    audio: F64
    rate: int
    lines: list[tuple[float, float]]  # each line's sound in the reference, seconds
    spoken: bool  # False: no espeak-ng here, a length-only stand-in was used


def _clean(text: str) -> str:
    words = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return " ".join(words.encode("utf-8", "replace").decode("utf-8").split())


def _espeak(exe: str, text: str, language: str, ssml: bool = False) -> F64 | None:
    """``text`` in the reference voice (espeak-ng's plain voice for the language, no variant),
    trimmed of leading and trailing silence. The text goes on standard input, never in argv
    (``ssml``: it is SSML the caller escaped)."""
    stdin = (text if ssml else _clean(text)).encode("utf-8")
    if not stdin:
        return None
    argv = [exe, "-v", language, "-s", REF_VOICE_SPEED, "-p", REF_VOICE_PITCH,
            *(["-m"] if ssml else []), "--stdout", "--stdin"]
    wav = run_espeak(argv, stdin)
    if wav is None:
        return None
    try:
        data, rate = soundfile.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError):
        return None
    y = resample(data[:, :1], int(rate), REF_RATE)[:, 0].astype(np.float64)
    return _trim(y, REF_RATE)


def _trim(y: F64, rate: int, db_below_peak: float = 45.0) -> F64:
    if len(y) == 0:
        return y
    env = _energy_db(y, rate)
    loud = np.flatnonzero(env > env.max() - db_below_peak)
    if len(loud) == 0:
        return y[:0]
    hop = round(0.005 * rate)
    a = max(0, int(loud[0]) * hop - hop)
    b = min(len(y), int(loud[-1]) * hop + 2 * hop)
    return y[a:b]


def _placeholder(kind: str, rate: int, speech_rms: float) -> F64:
    """A tag's sound in the reference: a few breathy noise bursts (laughs, crying...) or one
    (sighs, breaths...), shaped and deterministic."""
    rng = np.random.default_rng(sum(map(ord, kind)))
    bursts = 3 if any(w in kind for w in ("laugh", "crying", "sobs", "chuckle", "giggle",
                                          "wheez")) else 1
    length = 0.11 if bursts > 1 else 0.35
    gap = 0.07
    parts = []
    for b in range(bursts):
        n = round(length * rate)
        env = np.sin(np.pi * np.arange(n) / n) ** 2
        noise = rng.standard_normal(n)
        noise = np.convolve(noise, np.ones(4) / 4, mode="same")  # a little darker than white
        parts.append(env * noise)
        if b < bursts - 1:
            parts.append(np.zeros(round(gap * rate)))
    out = np.concatenate(parts)
    # laughs sit a little under speech, breaths well under it
    gain = speech_rms * (0.5 if bursts > 1 else 0.2) / (float(np.sqrt(np.mean(out ** 2))) + 1e-12)
    return np.asarray(out * gain)


def _pieces(text: str) -> list[tuple[str, str]]:
    """("say", words) / ("sound", tag) / ("pause", tag) in order; other tags are dropped."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _TAG.finditer(text):
        words = text[pos:m.start()].strip()
        if words:
            out.append(("say", words))
        tag = " ".join(m.group(1).lower().split())
        if tag in SOUND_TAGS:
            out.append(("sound", tag))
        elif tag in PAUSE_TAGS:
            out.append(("pause", tag))
        pos = m.end()
    rest = text[pos:].strip()
    if rest:
        out.append(("say", rest))
    return out


def _stand_in(words: str, rate: int) -> F64:
    """Without espeak-ng: a voiced buzz as long as the words would take (~14 characters/s)."""
    seconds = max(0.25, len(words) / 14.0)
    t = np.arange(round(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 6))
    return np.asarray(0.1 * wave * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2))


def _espeak_many(exe: str, says: Sequence[str], language: str) -> list[F64 | None]:
    """Every piece in one espeak-ng run (SSML, a ``BREAK_MS`` break between pieces, far longer
    than any pause espeak-ng makes itself), cut apart at the breaks; one run per piece when the
    breaks cannot be told apart."""
    if len(says) > 1:
        body = f'<break time="{BREAK_MS}ms"/>'.join(html.escape(_clean(w), quote=False) for w in says)
        y = _espeak(exe, f"<speak>{body}</speak>", language, ssml=True)
        if y is not None:
            env = _energy_db(y, REF_RATE)
            quiet = env < env.max() - 50
            runs = [(a, b) for a, b in _quiet_runs(quiet) if (b - a) * 0.005 >= 0.8 * BREAK_MS / 1000]
            if len(runs) == len(says) - 1:
                edges = [0, *(v for a, b in runs for v in (a, b)), len(env)]
                hop = round(0.005 * REF_RATE)
                return [_trim(y[edges[2 * k] * hop: edges[2 * k + 1] * hop], REF_RATE)
                        for k in range(len(says))]
    return [_espeak(exe, w, language) for w in says]


def reference(texts: Sequence[str], language: str = "en") -> Reference:
    """The lines read locally in the reference voice, with ``REF_GAP`` of silence between
    them, and where each line lies in it."""
    lang = language.lower() if isinstance(language, str) else ""
    lang = lang if _LANGUAGE.fullmatch(lang) else "en"
    exe = shutil.which("espeak-ng") if USE_ESPEAK else None
    pieces = [_pieces(t) for t in texts]
    says = list(dict.fromkeys(w for ps in pieces for kind, w in ps if kind == "say"))
    spoken: dict[str, F64 | None] = {}
    if exe is not None and says:
        spoken = dict(zip(says, _espeak_many(exe, says, lang), strict=True))
    used_espeak = exe is not None and any(v is not None and len(v) for v in spoken.values())
    voiced = [v for v in spoken.values() if v is not None and len(v)]
    speech_rms = float(np.sqrt(np.mean(np.concatenate(voiced) ** 2))) if voiced else 0.1
    rate = REF_RATE
    rng = np.random.default_rng(7)
    parts: list[F64] = [np.zeros(round(0.15 * rate))]
    pos = len(parts[0])
    spans: list[tuple[float, float]] = []
    for i, ps in enumerate(pieces):
        start = pos
        for j, (kind, w) in enumerate(ps):
            if kind == "say":
                y = spoken.get(w)
                piece = y if y is not None and len(y) else _stand_in(w, rate)
            elif kind == "sound":
                piece = _placeholder(w, rate, speech_rms)
            else:
                piece = np.zeros(round(PAUSE_TAGS[w] * rate))
            if j:
                join = np.zeros(round(0.08 * rate))
                parts.append(join)
                pos += len(join)
            parts.append(piece)
            pos += len(piece)
        if pos == start:  # nothing to say: a short murmur keeps the line's place
            piece = _stand_in("mm", rate)
            parts.append(piece)
            pos += len(piece)
        spans.append((start / rate, pos / rate))
        gap = np.zeros(round((REF_GAP if i < len(pieces) - 1 else 0.15) * rate))
        parts.append(gap)
        pos += len(gap)
    audio = np.concatenate(parts)
    audio = audio + 10 ** (-70 / 20) * rng.standard_normal(len(audio))  # a floor, not log(0)
    return Reference(audio, rate, spans, used_espeak)


# --- the local aligner --------------------------------------------------------------------------

def _quiet_middle(e5: F64, a: int, b: int, within_db: float = 3.0) -> int:
    """The middle of the quietest stretch of ``e5[a:b]`` (frames within ``within_db`` of its
    minimum, contiguous around it)."""
    seg = e5[a:b]
    k = int(np.argmin(seg))
    quiet = seg <= seg[k] + within_db
    left = k
    while left > 0 and quiet[left - 1]:
        left -= 1
    right = k
    while right < len(seg) - 1 and quiet[right + 1]:
        right += 1
    return a + (left + right) // 2


def _quiet_runs(quiet: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, end) of each run of True, end exclusive."""
    if not len(quiet):
        return []
    q = quiet.astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], q, [0]))))
    return [(int(edges[i]), int(edges[i + 1])) for i in range(0, len(edges), 2)]


def align_lines(x: F64, rate: int, texts: Sequence[str], language: str = "en") -> Split:
    """The local aligner (see the module's doc)."""
    duration = len(x) / rate
    n = len(texts)
    ref = reference(texts, language)
    fr = features(ref.audio, ref.rate)
    fc = features(x, rate)
    if len(fc.level) < 4 or len(fr.level) < 4:
        return split_by_silence(x, rate, n)
    mapping, local_cost = align_frames(fr, fc)
    e5 = _energy_db(x, rate)
    floor = float(np.percentile(e5, 5))
    speech = float(np.percentile(e5, 90))
    span_db = max(speech - floor, 12.0)
    quiet_db = floor + 0.25 * span_db  # "silence" for the rival and gap tests
    typical = float(np.median(local_cost[local_cost > 0])) if (local_cost > 0).any() else 1.0
    ratio = duration / max(1e-6, len(ref.audio) / ref.rate)
    cuts: list[Cut] = []
    last = 0.0
    for i in range(n - 1):
        g0, g1 = ref.lines[i][1], ref.lines[i + 1][0]  # the reference's gap between lines
        r0 = min(len(mapping) - 1, round(g0 / HOP))
        r1 = min(len(mapping) - 1, max(r0, round(g1 / HOP)))
        t0, t1 = int(mapping[r0]), int(mapping[r1])
        carried = (t0 + t1) / 2 * HOP + 0.0125  # frame centre
        a = max(0, round((carried - SNAP) / 0.005))
        b = min(len(e5), round((carried + SNAP) / 0.005) + 1)
        k = _quiet_middle(e5, a, b) if b > a else round(carried / 0.005)
        at = min(max(k * 0.005, last), duration)

        # confidence: how quiet the cut is, how long its silence, how well the path matched
        # around it, whether a rival silence as long lies just outside the snap window
        depth = float(np.clip((speech - e5[min(k, len(e5) - 1)]) / span_db, 0, 1))
        runs = _quiet_runs(e5 <= quiet_db)
        mine = next(((s, e) for s, e in runs if s <= k < e), (k, k))
        run_s = (mine[1] - mine[0]) * 0.005
        silence = min(1.0, run_s / 0.06)
        lo_r, hi_r = max(0, r0 - 50), min(len(local_cost), r1 + 50)
        match = float(np.mean(local_cost[lo_r:hi_r])) if hi_r > lo_r else typical
        fit = float(np.clip(1.5 - 0.5 * match / max(typical, 1e-6), 0.3, 1.0))
        rival = 1.0
        reach = round(0.6 / 0.005)
        for s, e in runs:
            if (s, e) == mine or e < k - reach or s > k + reach:
                continue
            if (e - s) * 0.005 >= max(0.1, 0.8 * run_s) and abs((s + e) / 2 - k) * 0.005 > SNAP:
                rival = min(rival, 0.7)
        conf = depth ** 2 * silence * fit * rival
        if not 0.4 <= ratio <= 2.5 or not ref.spoken:  # the clip is not these lines, or no
            conf = min(conf * 0.5, 0.45)              # espeak-ng: a length-only guess
        if _overlaps(texts[i], texts[i + 1]):  # no clean cut exists where speech overlaps
            conf = min(conf, 0.45)
        conf = round(float(conf), 3)
        cuts.append(Cut(at, conf, conf < UNCERTAIN_BELOW))
        last = at
    return _from_cuts(cuts, duration, "alignment")


_CUT_OFF = re.compile(r"(--|—|-|…)\s*$")


def _overlaps(before: str, after: str) -> bool:
    """The script says these two lines overlap: the second interrupts or overlaps the first,
    or the first is cut off mid-word."""
    tags = {" ".join(m.group(1).lower().split()) for m in _TAG.finditer(after)}
    bare = _TAG.sub("", before).rstrip()
    return bool(tags & {"interrupting", "overlapping", "interrupts"}) or bool(_CUT_OFF.search(bare))


def _from_cuts(cuts: list[Cut], duration: float, source: Source) -> Split:
    edges = [0.0, *(c.at for c in cuts), duration]
    lines = []
    for i in range(len(cuts) + 1):
        around = [c for c in (cuts[i - 1] if i else None, cuts[i] if i < len(cuts) else None)
                  if c is not None]
        conf = min((c.confidence for c in around), default=1.0)
        lines.append(LineSpan(edges[i], edges[i + 1], conf, any(c.uncertain for c in around)))
    return Split(tuple(lines), tuple(cuts), source, duration)


# --- the baseline -------------------------------------------------------------------------------

def split_by_silence(samples: npt.ArrayLike, rate: int, n_lines: int) -> Split:
    """The baseline: cut at the middles of the N-1 longest silences (not counting the clip's
    leading and trailing silence)."""
    x = mono(samples)
    duration = len(x) / rate
    if n_lines <= 1:
        return Split((LineSpan(0.0, duration, 1.0, False),), (), "single", duration)
    e5 = _energy_db(x, rate)
    floor = float(np.percentile(e5, 5))
    speech = float(np.percentile(e5, 90))
    quiet = e5 <= floor + 0.25 * max(speech - floor, 12.0)
    runs = [(s, e) for s, e in _quiet_runs(quiet) if s > 0 and e < len(e5)]
    runs.sort(key=lambda se: se[1] - se[0], reverse=True)
    chosen = sorted(runs[: n_lines - 1])
    at = [(s + e) / 2 * 0.005 for s, e in chosen]
    while len(at) < n_lines - 1:  # too few silences: share the rest of the clip evenly
        at.append(duration * (len(at) + 1) / n_lines)
    at.sort()
    cuts = [Cut(t, 0.5, True) for t in at]
    return _from_cuts(cuts, duration, "silence")
