"""Decode clips, assemble a scene with gaps, write WAV / FLAC / MP3.

soundfile (libsndfile 1.2, bundled in its wheels for Linux, Windows and macOS)
reads and writes all three formats with one small dependency plus numpy; see
the README for why it was chosen over miniaudio, lameenc and PyAV.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

from editor.core.atomic import create_temp, fsync_dir
from editor.engine.errors import BadAudio

FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".mp3": ("MP3", "MPEG_LAYER_III")}
Audio = npt.NDArray[np.float32]


class ExportError(OSError):
    """The output could not be written; the message is for the writer."""


@dataclass(frozen=True, slots=True)
class Clip:
    data: Audio  # frames x channels, float32
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.data) / self.rate


def decode(path: Path) -> Clip:
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as e:
        raise BadAudio(f"{Path(path).name} cannot be decoded ({e})") from None
    return Clip(np.ascontiguousarray(data, dtype=np.float32), int(rate))


def resample(data: Audio, src: int, dst: int) -> Audio:
    """Linear resampling: enough for speech at matching rates' neighbours."""
    if src == dst or len(data) == 0:
        return data
    n_out = round(len(data) * dst / src)
    x_old = np.arange(len(data), dtype=np.float64)
    x_new = np.linspace(0, len(data) - 1, n_out)
    out = np.empty((n_out, data.shape[1]), dtype=np.float32)
    for c in range(data.shape[1]):
        out[:, c] = np.interp(x_new, x_old, data[:, c])
    return out


def conform(clip: Clip, rate: int, channels: int) -> Audio:
    data = resample(clip.data, clip.rate, rate)
    if data.shape[1] == channels:
        return data
    if channels == 1:
        return np.asarray(data.mean(axis=1, keepdims=True), dtype=np.float32)
    return np.repeat(data[:, :1], channels, axis=1)


@dataclass(frozen=True, slots=True)
class Placement:
    start: float  # seconds into the mix
    duration: float


def assemble(clips: Sequence[Clip], gaps_ms: Sequence[int] | int = 300
             ) -> tuple[Audio, int, list[Placement]]:
    """Clips in order with silence between them: (audio, rate, where each clip sits).

    ``gaps_ms`` is one gap for all, or one per clip (the silence after it; the
    last is not used). Rate: the most common clip rate; channels: the most any
    clip has.
    """
    if not clips:
        raise ValueError("nothing to assemble")
    rates = [c.rate for c in clips]
    rate = max(set(rates), key=rates.count)
    channels = max(c.data.shape[1] for c in clips)
    gaps = [gaps_ms] * len(clips) if isinstance(gaps_ms, int) else list(gaps_ms)
    parts: list[Audio] = []
    placements: list[Placement] = []
    pos = 0
    for i, clip in enumerate(clips):
        data = conform(clip, rate, channels)
        placements.append(Placement(pos / rate, len(data) / rate))
        parts.append(data)
        pos += len(data)
        if i < len(clips) - 1:
            gap = round(max(0, gaps[i]) * rate / 1000)
            if gap:
                parts.append(np.zeros((gap, channels), dtype=np.float32))
                pos += gap
    return np.concatenate(parts), rate, placements


def write(path: Path, data: Audio, rate: int) -> None:
    """Write atomically: a failed or interrupted write leaves no file that looks complete."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"{path.name}: Castline writes .wav, .flac or .mp3.")
    fmt, subtype = FORMATS[suffix]
    if fmt == "MP3" and rate not in (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000):
        data, rate = resample(data, rate, 44100), 44100
    directory = path.parent if str(path.parent) else Path(".")
    try:
        # Deliverables follow the umask (a co-writer in a shared folder can read them); a
        # replaced file keeps its mode.
        fd, tmp = create_temp(directory, f".{path.name}.", ".part", like=path)
    except OSError as e:
        raise ExportError(f"Cannot write in {directory}: {e.strerror}.") from None
    os.close(fd)
    try:
        soundfile.write(str(tmp), np.clip(data, -1.0, 1.0), rate, format=fmt, subtype=subtype)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ExportError(f"Could not write {path.name}: {detail}. Nothing was written; "
                          "free some space or choose another folder.") from None
    fsync_dir(directory)
