"""T3D1 codec: round trips, every byte string decoded or counted invalid, bit flips caught."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin3d.io import t3d1

SEQ = st.integers(0, 2**64 - 1)
T0 = st.integers(-(2**63), 2**63 - 1)
FS = st.floats(1.0, 1e5, allow_nan=False)
SHAPE = st.tuples(st.integers(0, 40), st.integers(1, 12))


@st.composite
def blocks(draw):
    n, m = draw(SHAPE)
    seed = draw(st.integers(0, 2**32 - 1))
    samples = np.random.default_rng(seed).normal(0, 10, (n, m)).astype(np.float32)
    return draw(SEQ), draw(T0), draw(FS), samples


@given(blocks())
def test_float32_round_trip(b):
    seq, t0, fs, samples = b
    out = t3d1.decode(t3d1.encode(seq, t0, fs, samples))
    assert isinstance(out, t3d1.Block)
    assert (out.seq, out.t0_ns, out.fs, out.is_int16) == (seq, t0, fs, False)
    np.testing.assert_array_equal(out.samples, samples)
    assert not out.samples.flags.writeable  # a frozen block is not editable through its array


@given(blocks())
def test_int16_round_trip_with_scales(b):
    seq, t0, fs, samples = b
    scales = np.linspace(0.001, 0.01, samples.shape[1])
    data = t3d1.encode(seq, t0, fs, samples, int16=True, scales=scales)
    out = t3d1.decode(data)
    assert out.is_int16 and out.samples.dtype == np.int16
    assert len(data) == t3d1.MIN_SIZE + 2 * samples.size
    expect = np.clip(np.rint(samples / scales), -32768, 32767) * scales
    np.testing.assert_allclose(out.values(scales), expect, rtol=0, atol=1e-12)


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_invalid(data):
    out = t3d1.decode(data)
    assert isinstance(out, (t3d1.Block, t3d1.Invalid))


@given(st.binary(max_size=200))
def test_bytes_after_a_valid_header_never_raise(tail):
    # random bodies behind a plausible header reach the length and CRC checks
    head = t3d1.HEADER.pack(t3d1.MAGIC, 1, 0, 2, len(tail) // 8, 7, 0, 1000.0)
    out = t3d1.decode(head + tail)
    assert isinstance(out, t3d1.Invalid)  # a random CRC matches with probability 2**-32


@given(blocks(), st.data())
def test_truncated_block_is_invalid(b, data):
    enc = t3d1.encode(*b)
    cut = data.draw(st.integers(0, len(enc) - 1))
    out = t3d1.decode(enc[:cut])
    assert isinstance(out, t3d1.Invalid) and out.kind in (t3d1.TRUNCATED, t3d1.MALFORMED)


@given(blocks(), st.data())
def test_flipped_bit_is_a_crc_error(b, data):
    enc = bytearray(t3d1.encode(*b))
    # a bit of the payload after the header's size fields, or of the CRC itself
    pos = data.draw(st.integers(12, len(enc) - 1))
    enc[pos] ^= 1 << data.draw(st.integers(0, 7))
    out = t3d1.decode(bytes(enc))
    assert isinstance(out, t3d1.Invalid) and out.kind == t3d1.CRC


def test_header_damage_is_malformed():
    enc = bytearray(t3d1.encode(1, 0, 1000.0, np.zeros((5, 2))))
    enc[4] = 2  # version
    assert t3d1.decode(bytes(enc)).kind == t3d1.MALFORMED
    assert t3d1.decode(b"XXXX" + bytes(enc[4:])).kind == t3d1.MALFORMED
    assert "magic" in t3d1.decode(b"XXXX" + bytes(enc[4:])).reason


def test_nonfinite_fs_with_good_crc_is_malformed():
    head = t3d1.HEADER.pack(t3d1.MAGIC, 1, 0, 1, 0, 0, 0, float("nan"))
    out = t3d1.decode(head + struct.pack("<I", zlib.crc32(head)))
    assert out.kind == t3d1.MALFORMED and "fs" in out.reason


def test_encode_rejects_bad_arguments():
    with pytest.raises(ValueError, match="fs"):
        t3d1.encode(0, 0, 0.0, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="scales"):
        t3d1.encode(0, 0, 1.0, np.zeros((2, 2)), int16=True)


def test_block_times_and_end():
    b = t3d1.decode(t3d1.encode(3, 1_000_000_000, 1000.0, np.zeros((50, 1))))
    assert b.t_end_ns == 1_050_000_000
    np.testing.assert_allclose(b.times()[[0, -1]], [1.0, 1.049])


def _stream(n):
    return [t3d1.encode(i, i * 50_000_000, 1000.0, np.full((50, 3), i, np.float32))
            for i in range(n)]


@given(st.lists(st.integers(1, 500), max_size=20))
def test_splitter_any_chunking(cuts):
    data = b"".join(_stream(6))
    s = t3d1.StreamSplitter()
    got, pos = [], 0
    for c in sorted(set(cuts)) + [len(data)]:
        got += s.feed(data[pos:c])
        pos = max(pos, c)
    got += s.finish()
    assert [b.seq for b in got] == list(range(6))
    assert s.torn_tail_bytes == 0 and s.skipped_bytes == 0


def test_splitter_resyncs_after_garbage_and_damage_and_skips_torn_tail():
    parts = _stream(5)
    bad = bytearray(parts[2])
    bad[60] ^= 0xFF
    data = b"junk" + parts[0] + b"\x00T3D" + parts[1] + bytes(bad) + parts[3] + parts[4][:-7]
    got, s = t3d1.split(data)
    assert [b.seq for b in got] == [0, 1, 3]
    assert s.crc_errors == 1
    assert s.torn_tail_bytes == len(parts[4]) - 7


def test_splitter_corrupt_length_does_not_swallow_later_blocks():
    parts = _stream(3)
    bad = bytearray(parts[0])
    bad[8:12] = struct.pack("<I", 100_000)  # n_samples: claims 1.2 MB, longer than the stream
    got, s = t3d1.split(bytes(bad) + parts[1] + parts[2])
    assert [b.seq for b in got] == [1, 2]
    assert s.torn_tail_bytes == 0 and s.malformed >= 1


@settings(max_examples=200)
@given(st.binary(max_size=400), st.binary(max_size=400))
def test_splitter_never_raises_and_keeps_good_blocks(pre, post):
    good = _stream(2)
    got, s = t3d1.split(pre + good[0] + good[1] + post)
    seqs = [b.seq for b in got]
    # random bytes cannot hide the good blocks (they could only fake one with a 2**-32 CRC)
    assert 0 in seqs and 1 in seqs


def test_meta_round_trip():
    m = t3d1.make_meta(["a", "b"], ["m/s^2", "N"], 1000.0, 50, int16=True, scales=[0.1, 0.2])
    assert m["channels"][0]["unit_str"] == "m/s^2" and m["channels"][1]["fs"] == 1000.0
    p = t3d1.parse_meta(m)
    assert p.channels == ("a", "b") and p.scales == (0.1, 0.2) and p.index("b") == 1
    assert isinstance(t3d1.parse_meta({"channels": "x"}), t3d1.Invalid)
    assert isinstance(t3d1.parse_meta(None), t3d1.Invalid)
    assert isinstance(t3d1.parse_meta({"channels": []}), t3d1.Invalid)
