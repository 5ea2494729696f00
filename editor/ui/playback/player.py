"""Playback behind a small facade over QMediaPlayer (after Picard's Player).

Works with no audio device: ``available`` is False, ``unavailable_reason`` says why,
and ``play`` reports that instead of failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl, Signal

if TYPE_CHECKING:  # QtMultimedia loads (and starts its back end) on the first play, not at start
    from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer


class Player(QObject):
    started = Signal(str)  # path
    stopped = Signal()
    finished = Signal(str)  # path: played to the end
    failed = Signal(str)  # reason

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._devices: QMediaDevices | None = None  # made on first use: it starts the backend
        self._player: QMediaPlayer | None = None
        self._output: QAudioOutput | None = None
        self._path = ""
        self._volume = 0.8

    @property
    def available(self) -> bool:
        from PySide6.QtMultimedia import QMediaDevices

        if self._devices is None:
            self._devices = QMediaDevices(self)
            self._devices.audioOutputsChanged.connect(self._on_devices_audio_outputs_changed)
        return bool(QMediaDevices.audioOutputs())

    @property
    def unavailable_reason(self) -> str:
        return "" if self.available else (
            "No audio output was found on this computer, so Castline is silent. "
            "Rendering and exporting still work.")

    def _ensure(self) -> QMediaPlayer:
        from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer

        if self._player is None:
            self._player = QMediaPlayer(self)
            self._output = QAudioOutput(QMediaDevices.defaultAudioOutput(), self)
            self._output.setVolume(self._volume)
            self._player.setAudioOutput(self._output)
            self._player.mediaStatusChanged.connect(self._on_player_media_status_changed)
            self._player.errorOccurred.connect(self._on_player_error_occurred)
        return self._player

    def set_volume(self, volume: float) -> None:
        self._volume = max(0.0, min(1.0, volume))
        if self._output is not None:
            self._output.setVolume(self._volume)

    @property
    def volume(self) -> float:
        return self._volume

    @property
    def playing(self) -> bool:
        return self._player is not None and \
            self._player.playbackState() == type(self._player).PlaybackState.PlayingState

    @property
    def media_player(self) -> QMediaPlayer | None:
        return self._player

    def play(self, path: Path | str) -> bool:
        if not self.available:
            self.failed.emit(self.unavailable_reason)
            return False
        player = self._ensure()
        self._path = str(path)
        player.stop()
        player.setSource(QUrl.fromLocalFile(self._path))
        player.play()
        self.started.emit(self._path)
        return True

    def stop(self) -> None:
        if self._player is not None and self._player.playbackState() != \
                type(self._player).PlaybackState.StoppedState:
            self._player.stop()
            self.stopped.emit()

    def release(self) -> None:
        """Stop and free the media player (its threads must end before the app does)."""
        if self._player is not None:
            self._player.stop()
            self._player.setSource(QUrl())
            self._player.deleteLater()
            self._player = None
        if self._output is not None:
            self._output.deleteLater()
            self._output = None

    def _on_player_media_status_changed(self, status: QMediaPlayer.MediaStatus) -> None:
        if self._player is not None and status == type(self._player).MediaStatus.EndOfMedia:
            self.finished.emit(self._path)

    def _on_player_error_occurred(self, error: QMediaPlayer.Error, message: str) -> None:
        if error.name != "NoError":
            self.failed.emit(f"Cannot play {Path(self._path).name}: {message or error.name}")

    def _on_devices_audio_outputs_changed(self) -> None:
        from PySide6.QtMultimedia import QMediaDevices

        if self._output is not None:
            self._output.setDevice(QMediaDevices.defaultAudioOutput())
