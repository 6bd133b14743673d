"""`twin3d rig --serial PATH`: the same rig speaking $M/$D/$A lines through a pseudo-terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from twin3d.io import serial_lines as sl
from twin3d.io.serial_link import SerialLink


def test_serial_rig_streams_lines_and_answers_commands(tmp_path, wait_until, capsys,
                                                        monkeypatch, stop_rig):
    from twin3d.cli.main import main

    path = str(tmp_path / "ttyRIG")
    env = {**os.environ, "TWIN3D_AUDIT_DIR": str(tmp_path / "audit")}
    proc = subprocess.Popen([sys.executable, "-m", "twin3d", "rig", "--serial", path,
                             "--seconds", "120"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: os.path.exists(path))
        got = []
        with SerialLink(path) as link:
            assert link.wait_connected(10)
            assert wait_until(lambda: got.extend(m.message for m in link.drain()) or (
                any(isinstance(m, sl.MetaLine) for m in got) and
                sum(isinstance(m, sl.DataLine) for m in got) > 100))
        meta = next(m for m in got if isinstance(m, sl.MetaLine))
        assert meta.channels[:2] == ("acc_table", "acc_floor1") and meta.units[0] == "m/s^2"
        data = [m for m in got if isinstance(m, sl.DataLine)]
        assert all(len(d.values) == len(meta.channels) for d in data)
        seqs = [d.seq for d in data if d.seq >= data[0].seq]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gaps in the stream
        monkeypatch.setenv("TWIN3D_AUDIT_DIR", str(tmp_path / "audit"))
        target = f"serial://{path}"
        capsys.readouterr()
        assert main(["cmd", "--target", target, "--json", "set_speed", "rpm=150"]) == 0
        ack = json.loads(capsys.readouterr().out)
        assert ack["acks"] == ["accepted", "done"] and ack["outcome"] == "reached"
        assert main(["cmd", "--target", target, "--json", "--no-check", "set_stroke",
                     "stroke_m=0.0005"]) == 3  # refused by the rig: the motor is running
        ack = json.loads(capsys.readouterr().out)
        assert ack["status"] == "rejected" and "stopped" in ack["reason"]
    finally:
        stop_rig(proc)
    assert not os.path.lexists(path)  # the rig removes its link on the way out
