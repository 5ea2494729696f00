"""The playback facade on ``QAudioSink``: PCM decoded with soundfile, played to the session's
PulseAudio null sink (tests/conftest.py), every wait on a signal with its own deadline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from editor.ui.playback import player as player_module
from editor.ui.playback.player import Player


def tone(path: Path, seconds: float, rate: int = 22050, channels: int = 1, **kw: Any) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t)
    soundfile.write(str(path), np.repeat(wave[:, None], channels, axis=1), rate, **kw)
    return path


@pytest.fixture
def player(qtbot: Any, null_audio_sink: str | None) -> Iterator[Player]:
    assert null_audio_sink is not None, "pulseaudio is needed for the playback tests " \
        "(bash packaging/dev test installs it)"
    p = Player()
    assert p.available, p.unavailable_reason
    try:
        yield p
    finally:
        p.release()
        p.deleteLater()


class Events:
    def __init__(self, p: Player) -> None:
        self.log: list[tuple[str, str]] = []
        p.started.connect(lambda path: self.log.append(("started", path)))
        p.finished.connect(lambda path: self.log.append(("finished", path)))
        p.stopped.connect(lambda: self.log.append(("stopped", "")))
        p.failed.connect(lambda reason: self.log.append(("failed", reason)))


def play_to_the_end(qtbot: Any, p: Player, path: Path) -> None:
    with qtbot.waitSignal(p.finished, timeout=30000) as blocker:
        assert p.play(path)
    assert blocker.args == [str(path)]


@pytest.mark.parametrize(("name", "kw"), [("clip.wav", {"subtype": "PCM_16"}),
                                          ("clip.mp3", {"format": "MP3"})])
def test_a_file_plays_from_started_to_finished_for_its_whole_length(
        player: Player, qtbot: Any, tmp_path: Path, name: str, kw: dict[str, str]) -> None:
    path = tone(tmp_path / name, 1.5, **kw)
    length_us = soundfile.info(str(path)).duration * 1e6
    events = Events(player)
    play_to_the_end(qtbot, player, path)
    assert events.log == [("started", str(path)), ("finished", str(path))]
    assert abs(player.processed_usecs - length_us) <= 0.05 * length_us, \
        (player.processed_usecs, length_us)
    assert not player.playing
    media = player.media_player
    assert media is not None
    from PySide6.QtMultimedia import QMediaPlayer

    assert media.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia


def test_a_big_file_is_decoded_off_the_gui_thread_and_converted_for_the_device(
        player: Player, qtbot: Any, tmp_path: Path) -> None:
    # 48 kHz stereo float: over the inline limit, so a worker thread decodes it.
    path = tone(tmp_path / "big.wav", 3.0, rate=48000, channels=2, subtype="FLOAT")
    assert path.stat().st_size > player_module.INLINE_PCM_BYTES
    events = Events(player)
    assert player.play(path)
    assert player.playing and events.log == []  # nothing yet: the worker decodes
    assert player._worker is not None
    qtbot.waitUntil(lambda: ("finished", str(path)) in events.log, timeout=30000)
    assert events.log == [("started", str(path)), ("finished", str(path))]
    assert abs(player.processed_usecs - 3.0e6) <= 0.05 * 3.0e6, player.processed_usecs


def test_stop_mid_play_says_stopped_once_and_never_finished(
        player: Player, qtbot: Any, tmp_path: Path) -> None:
    long = tone(tmp_path / "long.wav", 20.0)
    short = tone(tmp_path / "short.wav", 0.5)
    events = Events(player)
    with qtbot.waitSignal(player.started, timeout=10000):
        player.play(long)
    assert player.playing
    with qtbot.waitSignal(player.stopped, timeout=1000):
        player.stop()
    assert not player.playing
    player.stop()  # nothing playing: no second signal
    assert events.log == [("started", str(long)), ("stopped", "")]
    # A play after it runs to its end; the stopped one never says finished.
    play_to_the_end(qtbot, player, short)
    assert events.log == [("started", str(long)), ("stopped", ""),
                          ("started", str(short)), ("finished", str(short))]
    assert player.processed_usecs < 1.5e6  # the short one's count, not the long one's


def test_volume_applies_before_and_during_a_play(player: Player, qtbot: Any,
                                                 tmp_path: Path) -> None:
    player.set_volume(0.25)
    assert player.volume == 0.25
    with qtbot.waitSignal(player.started, timeout=10000):
        player.play(tone(tmp_path / "v.wav", 5.0))
    sink = player.audio_sink
    assert sink is not None
    assert sink.volume() == pytest.approx(0.25, abs=0.01)
    player.set_volume(0.6)
    assert sink.volume() == pytest.approx(0.6, abs=0.01)
    player.set_volume(3.0)  # clamped
    assert player.volume == 1.0 and sink.volume() == pytest.approx(1.0, abs=0.01)
    player.stop()


def test_a_then_b_each_start_once(player: Player, qtbot: Any, tmp_path: Path) -> None:
    a = tone(tmp_path / "a.wav", 0.7)
    b = tone(tmp_path / "b.mp3", 0.9, format="MP3")
    events = Events(player)
    play_to_the_end(qtbot, player, a)
    play_to_the_end(qtbot, player, b)
    assert events.log == [("started", str(a)), ("finished", str(a)),
                          ("started", str(b)), ("finished", str(b))]


def test_a_play_replacing_another_is_silent_about_the_first(
        player: Player, qtbot: Any, tmp_path: Path) -> None:
    a = tone(tmp_path / "a.wav", 20.0)
    b = tone(tmp_path / "b.wav", 0.5)
    events = Events(player)
    with qtbot.waitSignal(player.started, timeout=10000):
        player.play(a)
    play_to_the_end(qtbot, player, b)
    assert events.log == [("started", str(a)), ("started", str(b)), ("finished", str(b))]


def test_a_file_that_cannot_be_decoded_fails_with_its_name(
        player: Player, qtbot: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"not audio at all" * 10)
    events = Events(player)
    with qtbot.waitSignal(player.failed, timeout=5000) as blocker:
        player.play(bad)
    assert "broken.mp3" in blocker.args[0]
    assert not player.playing
    assert [e for e, _ in events.log] == ["failed"]


def test_no_audio_output_plays_nothing_and_says_why(qtbot: Any, monkeypatch: Any,
                                                    tmp_path: Path) -> None:
    from PySide6.QtMultimedia import QMediaDevices

    monkeypatch.setattr(QMediaDevices, "audioOutputs", staticmethod(list))
    p = Player()
    assert not p.available
    assert "No audio output" in p.unavailable_reason
    with qtbot.waitSignal(p.failed, timeout=1000) as blocker:
        assert not p.play(tone(tmp_path / "x.wav", 0.2))
    assert "No audio output" in blocker.args[0]
    assert not p.playing and p.media_player is None
    p.stop()
    p.release()
