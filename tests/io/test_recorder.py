"""Recorder: round trip, exports, and a recorder killed with SIGKILL mid-recording."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np

from twin3d.io import recorder, t3d1

META = t3d1.make_meta(["acc_table", "acc_floor1"], ["m/s^2", "m/s^2"], 1000.0, 50)


def _block(i, n=50):
    return t3d1.encode(i, 1_700_000_000_000_000_000 + i * 50_000_000, 1000.0,
                       np.column_stack([np.arange(n) + 100 * i, -np.arange(n)]))


def test_round_trip_events_and_exports(tmp_path):
    with recorder.Recorder(tmp_path / "r", META) as rec:
        for i in range(5):
            rec.write_block(_block(i))
        rec.event("cmd", id="c1", op="set_speed", rpm=300)
        rec.event("ack", id="c1", status="accepted")
    r = recorder.read_recording(tmp_path / "r")
    assert r.recovered == 5 and not r.torn_tail and r.gaps == 0 and r.crc_errors == 0
    assert [e["kind"] for e in r.events] == ["cmd", "ack"] and r.events[0]["rpm"] == 300
    assert r.meta["channels"][1]["name"] == "acc_floor1" and "created" in r.meta
    assert recorder.encoded(r.blocks[3]) == _block(3)

    csv_path = recorder.export_csv(r, tmp_path / "out.csv")
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "t_s,seq,acc_table [m/s^2],acc_floor1 [m/s^2]"
    assert len(lines) == 1 + 250
    assert lines[1 + 51].split(",")[1:] == ["1", "101", "-1"]
    npz = np.load(recorder.export_npz(r, tmp_path / "out"))
    assert npz["data"].shape == (250, 2) and list(npz["channels"]) == ["acc_table", "acc_floor1"]
    assert float(npz["fs"]) == 1000.0 and np.all(np.diff(npz["t"]) > 0)
    np.testing.assert_array_equal(npz["data"][50:100, 0], np.arange(50) + 100)


def test_reader_counts_gaps_damage_and_a_torn_event_line(tmp_path):
    folder = tmp_path / "r"
    with recorder.Recorder(folder, META) as rec:
        for i in (0, 1, 3, 4):
            rec.write_block(_block(i))
        rec.event("note", text="ok")
    with open(folder / "blocks.t3d", "r+b") as f:  # damage block seq 3 (third in the file)
        f.seek(2 * len(_block(0)) + 100)
        f.write(b"\xff\xff")
    with open(folder / "events.jsonl", "ab") as f:
        f.write(b'{"t": 1, "kind": "tr')
    r = recorder.read_recording(folder)
    assert [b.seq for b in r.blocks] == [0, 1, 4]
    assert r.crc_errors == 1 and r.gaps == 1 and r.bad_event_lines == 1 and len(r.events) == 1


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from twin3d.io import recorder, t3d1
    rec = recorder.Recorder(sys.argv[1], t3d1.make_meta(["a"], ["V"], 1000.0, 2000))
    i = 0
    while True:  # big blocks, so that the kill is likely to land inside a write
        rec.write_block(t3d1.encode(i, i, 1000.0, np.full((2000, 1), i)))
        if i == 20:
            print("ready", flush=True)
        i += 1
""")


def test_sigkill_loses_at_most_the_block_being_written(tmp_path):
    folder = tmp_path / "killed"
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline().strip() == b"ready"
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
    size = (folder / "blocks.t3d").stat().st_size
    r = recorder.read_recording(folder)
    block_size = t3d1.MIN_SIZE + 4 * 2000
    assert r.recovered >= 21 and r.recovered == size // block_size
    assert [b.seq for b in r.blocks] == list(range(r.recovered))  # every complete one, in order
    assert r.torn_tail_bytes == size % block_size and r.crc_errors == 0
    assert json.loads((folder / "meta.json").read_text())["channels"][0]["name"] == "a"
