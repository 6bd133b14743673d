"""Serial line codec: round trips, bad checksums, wrong field counts, garbage, resync on `$`."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from twin3d.io import serial_lines as sl


def test_checksum_matches_nmea_example():
    # the classic NMEA sentence: checksum 47
    line = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"
    assert sl.checksum(line[1:line.index(b"*")]) == 0x47


def test_round_trip_every_line_type():
    p = sl.LineParser()
    data = (sl.encode_meta(["a0", "a1"], ["m/s^2", "N"]) + sl.encode_data(7, 1234, [1.5, -2.0])
            + sl.encode_ack("c1", "rejected", "speed above 1800 rpm")
            + sl.encode_cmd("c2", "set_speed", {"rpm": 300, "ramp": 100}))
    out = p.feed(data)
    assert out == [sl.MetaLine(("a0", "a1"), ("m/s^2", "N")), sl.DataLine(7, 1234, (1.5, -2.0)),
                   sl.AckLine("c1", "rejected", "speed above 1800 rpm"),
                   sl.CmdLine("c2", "set_speed", {"rpm": "300", "ramp": "100"})]
    assert p.lines == 4 and p.dropped == 0 and p.n_channels == 2


def test_garbage_bad_checksum_wrong_fields_are_counted_and_dropped():
    p = sl.LineParser(n_channels=2)
    good = sl.encode_data(1, 10, [1.0, 2.0])
    bad_cs = bytearray(sl.encode_data(2, 20, [1.0, 2.0]))
    bad_cs[5] = ord("9")  # a digit changed: the checksum no longer matches
    data = (b"hello noise\r\n" + good + bytes(bad_cs) + sl.encode_data(3, 30, [1.0])
            + b"\x00\xff$D,4,4" + sl.encode_data(5, 50, [5.0, 6.0]) + b"$Q,1*4C\n")
    out = p.feed(data)
    assert [m.seq for m in out] == [1, 5]
    assert p.bad_checksum == 1 and p.bad_fields == 1 and p.garbage == 3


def test_resync_in_the_middle_of_a_line():
    p = sl.LineParser()
    out = p.feed(b"$D,1,2,3.0*" + sl.encode_data(9, 90, [4.0]))  # torn line, then a good one
    assert [m.seq for m in out] == [9] and p.garbage == 1


def test_overlong_line_is_dropped_and_parser_recovers():
    p = sl.LineParser()
    assert p.feed(b"x" * (sl.MAX_LINE + 10)) == []
    assert p.garbage == 1
    assert p.feed(sl.encode_data(1, 1, [1.0])) == [sl.DataLine(1, 1, (1.0,))]


@given(st.lists(st.binary(max_size=64), max_size=30))
def test_parser_never_raises_on_random_chunks(chunks):
    p = sl.LineParser()
    for c in chunks:
        for m in p.feed(c):
            assert isinstance(m, (sl.DataLine, sl.MetaLine, sl.AckLine, sl.CmdLine))


@given(st.lists(st.tuples(st.integers(0, 2**40), st.integers(0, 2**40),
                          st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3)),
                max_size=20),
       st.lists(st.integers(1, 4000), max_size=10), st.binary(max_size=40))
def test_any_chunking_and_leading_noise_keeps_every_line(rows, cuts, noise):
    data = noise.replace(b"$", b"") + b"\n" + b"".join(sl.encode_data(s, t, v) for s, t, v in rows)
    p = sl.LineParser(n_channels=3)
    got, pos = [], 0
    for c in sorted(set(cuts)) + [len(data)]:
        got += p.feed(data[pos:c])
        pos = max(pos, c)
    assert [(m.seq, m.t_us) for m in got] == [(s, t) for s, t, _ in rows]
    for m, (_, _, v) in zip(got, rows):
        assert all(abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in zip(m.values, v))
