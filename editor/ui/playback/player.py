"""Playback behind a small facade: PCM decoded with soundfile, played through ``QAudioSink``.

No Qt multimedia plugin is needed (``QAudioSink`` talks to PulseAudio, CoreAudio or WASAPI
directly), so the installer carries neither Qt's FFmpeg plugin nor the Qt Quick/QML it links.
Decoding is sample-exact and done with the same ``soundfile`` the exporter uses.

Signals, in order, for one ``play(path)``:

- ``started(path)`` when the sink goes Active (audio is reaching the device);
- ``finished(path)`` when the sink goes Idle *after* the last sample was handed over (an
  underrun in the middle of the data does not count), or
- ``stopped()`` once when :meth:`stop` ends a play that had not finished, or
- ``failed(reason)`` if the file cannot be decoded or the device refuses it.

A second ``play`` while one is under way replaces it silently (no ``stopped``/``finished``
for the first), as the old QMediaPlayer facade did.

Works with no audio device: ``available`` is False, ``unavailable_reason`` says why,
and ``play`` reports that instead of failing.

Small files are decoded inline (a 30 KB MP3 take decodes in ~2 ms here); bigger ones on a
worker thread, whose result comes back to the GUI thread as a queued signal.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Signal

if TYPE_CHECKING:  # QtMultimedia loads (and starts its back end) on the first play, not at start
    from PySide6.QtMultimedia import QAudio, QAudioDevice, QAudioSink, QMediaPlayer

# Decoded on the GUI thread when the file is at most this big: measured 2.2 ms for a 29 KB
# (3.8 s) MP3 take and 0.35 ms for a 166 KB WAV; above it a worker thread decodes.
INLINE_COMPRESSED_BYTES = 48 * 1024
INLINE_PCM_BYTES = 1024 * 1024
_PCM_SUFFIXES = (".wav", ".wave", ".aiff", ".aif")


@dataclass(frozen=True)
class _DeviceCaps:
    """What the output accepts, read on the GUI thread and handed to the decoder as values."""

    min_rate: int
    max_rate: int
    min_channels: int
    max_channels: int
    int16: bool
    float32: bool
    preferred_rate: int
    preferred_channels: int


@dataclass(frozen=True)
class _Pcm:
    data: bytes
    rate: int
    channels: int
    float32: bool  # else Int16
    frames: int


def _prepare(path: str, caps: _DeviceCaps) -> _Pcm | str:
    """Decode ``path`` and convert it to a format the device takes; a reason if it cannot."""
    import numpy as np

    from editor.engine.audio import conform, decode
    from editor.engine.errors import BadAudio

    try:
        clip = decode(Path(path))
    except (BadAudio, OSError) as e:
        return f"Cannot play {Path(path).name}: {e}"
    rate = clip.rate if caps.min_rate <= clip.rate <= caps.max_rate else caps.preferred_rate
    channels = clip.data.shape[1]
    if not caps.min_channels <= channels <= caps.max_channels:
        channels = caps.preferred_channels
    data = clip.data
    if rate != clip.rate or channels != data.shape[1]:
        from editor.engine.audio import Clip

        data = conform(Clip(data, clip.rate), rate, channels)
    if caps.int16 or not caps.float32:
        pcm = np.clip(np.rint(data * 32767.0), -32768, 32767).astype("<i2")
        return _Pcm(pcm.tobytes(), rate, channels, False, len(pcm))
    return _Pcm(np.ascontiguousarray(data, dtype="<f4").tobytes(), rate, channels, True,
                len(data))


class _PlaybackView:
    """``Player.media_player``: the play's state in QMediaPlayer's words, for the callers
    (self-test, benchmarks, tests) that asked the old QMediaPlayer facade."""

    def __init__(self, player: Player) -> None:
        self._player = player

    def playbackState(self) -> QMediaPlayer.PlaybackState:
        from PySide6.QtMultimedia import QMediaPlayer

        if self._player.phase == "playing":
            return QMediaPlayer.PlaybackState.PlayingState
        return QMediaPlayer.PlaybackState.StoppedState

    def mediaStatus(self) -> QMediaPlayer.MediaStatus:
        from PySide6.QtMultimedia import QMediaPlayer

        status = QMediaPlayer.MediaStatus
        return {"idle": status.NoMedia, "decoding": status.LoadingMedia,
                "starting": status.BufferedMedia, "playing": status.BufferedMedia,
                "ended": status.EndOfMedia, "stopped": status.LoadedMedia,
                "failed": status.InvalidMedia}[self._player.phase]

    def position(self) -> int:
        return self._player.position_ms

    def duration(self) -> int:
        return self._player.duration_ms


class Player(QObject):
    started = Signal(str)  # path
    stopped = Signal()
    finished = Signal(str)  # path: played to the end
    failed = Signal(str)  # reason
    _prepared = Signal(int, object)  # generation, _Pcm | reason (from the decoder thread)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path = ""
        self._volume = 0.8
        self._generation = 0
        # idle -> decoding -> starting -> playing -> ended | stopped | failed
        self.phase = "idle"
        self._sink: QAudioSink | None = None
        self._buffer: QBuffer | None = None
        self._device: QAudioDevice | None = None
        self._frames = 0
        self._rate = 0
        self._processed_us = 0  # kept when the sink is let go
        self._worker: threading.Thread | None = None
        self._view: _PlaybackView | None = None
        self._prepared.connect(self._on_prepared)

    # --- the device ---------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        from PySide6.QtMultimedia import QMediaDevices

        return bool(QMediaDevices.audioOutputs())

    @property
    def unavailable_reason(self) -> str:
        return "" if self.available else (
            "No audio output was found on this computer, so Castline is silent. "
            "Rendering and exporting still work.")

    def _caps(self, device: QAudioDevice) -> _DeviceCaps:
        from PySide6.QtMultimedia import QAudioFormat

        formats = set(device.supportedSampleFormats())
        preferred = device.preferredFormat()
        return _DeviceCaps(
            device.minimumSampleRate(), device.maximumSampleRate(),
            device.minimumChannelCount(), device.maximumChannelCount(),
            QAudioFormat.SampleFormat.Int16 in formats,
            QAudioFormat.SampleFormat.Float in formats,
            preferred.sampleRate() or 48000, preferred.channelCount() or 2)

    # --- volume and state ---------------------------------------------------------------------

    def set_volume(self, volume: float) -> None:
        self._volume = max(0.0, min(1.0, volume))
        if self._sink is not None:
            self._sink.setVolume(self._volume)

    @property
    def volume(self) -> float:
        return self._volume

    @property
    def playing(self) -> bool:
        """From ``play`` until the play finishes, stops or fails (decoding counts)."""
        return self.phase in ("decoding", "starting", "playing")

    @property
    def media_player(self) -> _PlaybackView | None:
        """None before the first play, as with the old QMediaPlayer facade."""
        return self._view

    @property
    def audio_sink(self) -> QAudioSink | None:
        return self._sink

    @property
    def processed_usecs(self) -> int:
        """Audio handed to the device by the current (or last) play, in microseconds."""
        if self._sink is not None:
            return max(self._processed_us, int(self._sink.processedUSecs()))
        return self._processed_us

    @property
    def position_ms(self) -> int:
        return self.processed_usecs // 1000

    @property
    def duration_ms(self) -> int:
        return 1000 * self._frames // self._rate if self._rate else 0

    # --- playing ------------------------------------------------------------------------------

    def play(self, path: Path | str) -> bool:
        if not self.available:
            self.failed.emit(self.unavailable_reason)
            return False
        from PySide6.QtMultimedia import QMediaDevices

        self._let_go()
        self._generation += 1
        generation = self._generation
        self._path = str(path)
        self._frames = self._rate = self._processed_us = 0
        self.phase = "decoding"
        if self._view is None:
            self._view = _PlaybackView(self)
        self._device = QMediaDevices.defaultAudioOutput()
        caps = self._caps(self._device)
        if self._small(self._path):
            self._on_prepared(generation, _prepare(self._path, caps))
        else:
            worker = threading.Thread(target=self._decode_in_worker,
                                      args=(generation, self._path, caps),
                                      name="castline-player-decode", daemon=True)
            self._worker = worker
            worker.start()
        return True

    @staticmethod
    def _small(path: str) -> bool:
        try:
            size = Path(path).stat().st_size
        except OSError:
            return True  # decode() says why, at once
        limit = INLINE_PCM_BYTES if path.lower().endswith(_PCM_SUFFIXES) \
            else INLINE_COMPRESSED_BYTES
        return size <= limit

    def _decode_in_worker(self, generation: int, path: str, caps: _DeviceCaps) -> None:
        try:
            result: _Pcm | str = _prepare(path, caps)
        except Exception as e:  # a decoder bug must not kill the thread silently
            result = f"Cannot play {Path(path).name}: {e}"
        with contextlib.suppress(RuntimeError):  # the player was deleted meanwhile
            self._prepared.emit(generation, result)  # queued to the GUI thread

    def _on_prepared(self, generation: int, result: Any) -> None:
        if generation != self._generation or self.phase != "decoding":
            return  # replaced or stopped while decoding
        if isinstance(result, str):
            self.phase = "failed"
            self.failed.emit(result)
            return
        from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink

        _ = QAudio.State  # PySide makes its types lazily: stateChanged cannot convert before
        pcm: _Pcm = result
        fmt = QAudioFormat()
        fmt.setSampleRate(pcm.rate)
        fmt.setChannelCount(pcm.channels)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Float if pcm.float32
                            else QAudioFormat.SampleFormat.Int16)
        assert self._device is not None
        self._frames, self._rate = pcm.frames, pcm.rate
        sink = QAudioSink(self._device, fmt, self)
        sink.setVolume(self._volume)
        buffer = QBuffer(self)
        buffer.setData(QByteArray(pcm.data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self._sink, self._buffer = sink, buffer
        self.phase = "starting"
        sink.stateChanged.connect(self._on_sink_state_changed)  # cut off in _let_go
        sink.start(buffer)  # pull mode: the sink reads the buffer as it needs
        if sink.error() != type(sink.error()).NoError and self.phase == "starting":
            self._fail(f"Cannot play {Path(self._path).name}: the audio output refused it "
                       f"({sink.error().name})")

    def _on_sink_state_changed(self, state: QAudio.State) -> None:
        sink = self._sink
        if sink is None:
            return
        from PySide6.QtMultimedia import QAudio

        if state == QAudio.State.ActiveState:
            if self.phase == "starting":
                self.phase = "playing"
                self.started.emit(self._path)
        elif state == QAudio.State.IdleState:
            if self._buffer is not None and self._buffer.atEnd() \
                    and self.phase in ("starting", "playing"):
                self._processed_us = int(sink.processedUSecs())
                if self.phase == "starting":  # too short to have been seen Active
                    self.phase = "playing"
                    self.started.emit(self._path)
                self.phase = "ended"
                self.finished.emit(self._path)
            # else an underrun mid-stream: the sink resumes by itself
        elif state == QAudio.State.StoppedState and self.phase in ("starting", "playing") \
                and sink.error() != QAudio.Error.NoError:
            self._fail(f"Cannot play {Path(self._path).name}: the audio output stopped "
                       f"({sink.error().name})")

    def _fail(self, reason: str) -> None:
        self.phase = "failed"
        self._let_go()
        self.failed.emit(reason)

    def _let_go(self) -> None:
        """Stop and free the sink, without a signal (the caller says what happened)."""
        sink, buffer = self._sink, self._buffer
        self._sink = self._buffer = None
        if sink is not None:
            self._processed_us = max(self._processed_us, int(sink.processedUSecs()))
            sink.stateChanged.disconnect()
            sink.stop()
            sink.deleteLater()
        if buffer is not None:
            buffer.close()
            buffer.deleteLater()

    def stop(self) -> None:
        if self.playing:
            self._generation += 1  # a decode under way is dropped when it lands
            self.phase = "stopped"
            self._let_go()
            self.stopped.emit()
        else:
            self._let_go()  # a finished play's idle sink

    def release(self) -> None:
        """Stop and free the sink; wait for a decode under way (the app must outlive it)."""
        self._generation += 1
        if self.playing:
            self.phase = "stopped"
        self._let_go()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.join(timeout=5)
        self._view = None
