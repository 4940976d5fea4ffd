"""audio_io.devices against a real PulseAudio null sink (and its error mapping)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from audio_io.devices import AudioDeviceError, InputStream, OutputStream, list_devices
from tests.plugins.pulse import PulseServer, reinit_portaudio
from tests.plugins.waiting import wait_until

SR = 48000


def _record_while_playing(
    sound: np.ndarray, device: str = "pulse", tail_s: float = 0.5
) -> tuple[np.ndarray, InputStream, OutputStream]:
    inp = InputStream(device=device, samplerate=SR, blocksize=1024, queue_blocks=512)
    out = OutputStream(device=device, samplerate=SR, blocksize=1024)
    blocks = []
    try:
        inp.start()
        out.start()
        out.write(sound)
        out.drain()
        deadline = time.monotonic() + tail_s
        while time.monotonic() < deadline:
            b = inp.read(timeout=0.2)
            if b is not None:
                blocks.append(b)
        inp.stop()
        while (b := inp.read(timeout=0.05)) is not None:
            blocks.append(b)
    finally:
        out.close()
        inp.close()
    return np.concatenate(blocks), inp, out


@pytest.mark.audio_device
def test_pulse_device_is_listed(pulse_server: PulseServer) -> None:
    names = [d.name for d in list_devices()]
    assert "pulse" in names
    pulse = next(d for d in list_devices() if d.name == "pulse")
    assert pulse.max_input_channels >= 1 and pulse.max_output_channels >= 1


@pytest.mark.audio_device
def test_tone_played_into_null_sink_comes_back_on_monitor(pulse_server: PulseServer) -> None:
    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    sound = np.concatenate([np.zeros(SR // 4, np.float32), tone, np.zeros(SR // 4, np.float32)])
    rec, inp, _out = _record_while_playing(sound)
    x = rec[:, 0]
    assert rec.dtype == np.float32 and rec.ndim == 2
    # The tone is there at its level (PulseAudio's s16 path and resampling cost < 1 dB) ...
    assert 0.4 < np.abs(x).max() <= 0.55
    # ... at its frequency: the spectrum's peak is at 1 kHz.
    idx = np.flatnonzero(np.abs(x) > 0.1)
    assert (idx[-1] - idx[0]) / SR == pytest.approx(1.0, abs=0.01)  # all of it, no gaps added
    mid = x[idx[0] + SR // 4 : idx[0] + 3 * SR // 4]
    spec = np.abs(np.fft.rfft(mid * np.hanning(len(mid))))
    freq = np.fft.rfftfreq(len(mid), 1 / SR)[np.argmax(spec)]
    assert abs(freq - 1000.0) < 5
    assert inp.frames_read == len(rec)


@pytest.mark.audio_device
def test_nonexistent_device_is_a_clear_error(pulse_server: PulseServer) -> None:
    with pytest.raises(AudioDeviceError, match="no-such-card") as info:
        InputStream(device="no-such-card", samplerate=SR)
    assert "--list-devices" in str(info.value)
    # The PortAudio/sounddevice error is kept as the cause (mapped at the boundary).
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(AudioDeviceError, match="device 99"):
        OutputStream(device=99, samplerate=SR)


@pytest.mark.audio_device
def test_portaudio_error_is_mapped(pulse_server: PulseServer) -> None:
    import sounddevice as sd

    # The pulse ALSA device cannot open 4000 channels: PortAudio itself refuses.
    with pytest.raises(AudioDeviceError, match="opening input stream") as info:
        InputStream(device="pulse", samplerate=SR, channels=4000)
    assert isinstance(info.value.__cause__, sd.PortAudioError)


def test_bad_parameters_are_rejected_before_portaudio() -> None:
    with pytest.raises(AudioDeviceError, match="22 Hz is too low"):
        InputStream(samplerate=22)
    with pytest.raises(AudioDeviceError, match="channels must be >= 1, got 0"):
        OutputStream(channels=0)
    with pytest.raises(AudioDeviceError, match="queue_blocks must be >= 1"):
        InputStream(queue_blocks=0)


@pytest.mark.audio_device
def test_output_rejects_wrong_channel_count(pulse_server: PulseServer) -> None:
    out = OutputStream(device="pulse", samplerate=SR, channels=1)
    try:
        with pytest.raises(AudioDeviceError, match=r"shape \(10, 2\)"):
            out.write(np.zeros((10, 2), np.float32))
    finally:
        out.close()


@pytest.mark.audio_device
def test_slow_consumer_counts_overflows_without_blocking(pulse_server: PulseServer) -> None:
    inp = InputStream(device="pulse", samplerate=SR, blocksize=480, queue_blocks=4)
    try:
        inp.start()
        assert inp.read(timeout=5.0) is not None  # the first connection to a server is slow
        # a consumer that does not read: blocks keep arriving (one per 10 ms), the queue holds 4
        wait_until("more than 20 blocks overflowed", lambda: inp.overflows > 20, 30.0)
        got = 0
        while inp.read(timeout=0.01) is not None and got < 100:
            got += 1
        assert got >= 4
    finally:
        inp.close()


@pytest.mark.audio_device
def test_device_that_goes_away_raises(pulse_server: PulseServer, pulse_factory) -> None:  # type: ignore[no-untyped-def]
    private = pulse_factory()
    old = os.environ["PULSE_SERVER"]
    os.environ["PULSE_SERVER"] = private.server
    try:
        reinit_portaudio()
        inp = InputStream(device="pulse", samplerate=SR, blocksize=1024, stall_s=1.5)
        inp.start()
        assert inp.read(timeout=6.0) is not None
        private.stop()  # the sound server dies under the open stream
        with pytest.raises(AudioDeviceError, match="stopped delivering audio"):
            for _ in range(100):
                inp.read(timeout=0.5)
        inp.close()
    finally:
        os.environ["PULSE_SERVER"] = old
        reinit_portaudio()


@pytest.mark.audio_device
@pytest.mark.parametrize("profile", ["hf", "robust"])
def test_trigger_survives_the_virtual_sound_card(pulse_server: PulseServer, profile: str) -> None:
    import trigger_codec as tc

    wave = tc.encode(channel=11, seq=4242, sample_rate=SR, profile=profile)
    sound = np.concatenate([np.zeros(SR // 4, np.float32), wave, np.zeros(SR // 2, np.float32)])
    rec, _inp, _out = _record_while_playing(sound)
    dec = tc.Decoder(sample_rate=SR)
    dets = []
    for i in range(0, len(rec), 1024):
        dets += dec.feed(rec[i : i + 1024, 0])
    dets += dec.flush()
    assert [(d.channel, d.seq, d.profile) for d in dets] == [(11, 4242, profile)]
