"""Serial link on a real pseudo-terminal: lines through, garbage and bad checksums counted, a
port that disappears and comes back, commands written to the device."""

from __future__ import annotations

import os
import tty

from twin3d.io import serial_lines as sl
from twin3d.io.serial_link import SerialLink


class FakeDevice:
    """The device end of a pty, reached by the host through a stable symlink (like udev's
    /dev/serial/by-id names) so that it can vanish and come back under the same path."""

    def __init__(self, link_path):
        self.link = link_path
        self.master = None
        self.open()

    def open(self):
        self.master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes as they are
        name = os.ttyname(slave)
        os.close(slave)
        if os.path.lexists(self.link):
            os.unlink(self.link)
        os.symlink(name, self.link)

    def write(self, data: bytes):
        os.write(self.master, data)

    def read(self) -> bytes:
        return os.read(self.master, 4096)

    def vanish(self):
        os.unlink(self.link)
        os.close(self.master)
        self.master = None

    def close(self):
        if self.master is not None:
            os.close(self.master)


def test_lines_garbage_bad_checksum_and_a_port_that_comes_back(tmp_path, wait_for):
    dev = FakeDevice(str(tmp_path / "ttyRIG"))
    link = SerialLink(dev.link, n_channels=2, min_backoff=0.02, max_backoff=0.1).start()
    got = []
    try:
        assert link.wait_connected(10)
        bad = bytearray(sl.encode_data(2, 2000, [3.0, 4.0]))
        bad[-3] = ord("0") if bad[-3] != ord("0") else ord("1")  # wrong checksum digit
        dev.write(sl.encode_meta(["a", "b"], ["m/s^2", "N"]) + sl.encode_data(1, 1000, [1.0, 2.0])
                  + b"#@!garbage line\n" + bytes(bad) + sl.encode_data(3, 3000, [5.0, 6.0]))
        assert wait_for(lambda: got.extend(link.drain()) or len(got) == 3)
        assert isinstance(got[0].message, sl.MetaLine)
        assert [m.message.seq for m in got[1:]] == [1, 3]
        assert link.parser.garbage == 1 and link.parser.bad_checksum == 1

        # the port disappears (half a line in flight), then a new device shows up on the path
        dev.write(b"$D,4,40")
        assert wait_for(lambda: link.counters.bytes > 0 and link.parser._buf)
        dev.vanish()
        assert wait_for(lambda: link.counters.disconnects == 1 and not link.connected)
        assert not link.write(sl.encode_cmd("c1", "stop"))  # counted, not raised
        dev.open()
        assert wait_for(lambda: link.connected and link.counters.opens == 2)
        dev.write(sl.encode_data(5, 5000, [7.0, 8.0]))
        assert wait_for(lambda: got.extend(link.drain()) or len(got) == 4)
        assert got[-1].message == sl.DataLine(5, 5000, (7.0, 8.0))
        assert link.parser.garbage == 2  # the torn "$D,4,40" is dropped, not glued on

        # host -> device: a command line arrives intact
        assert link.write(sl.encode_cmd("c2", "set_speed", {"rpm": 300}))
        p = sl.LineParser()
        cmds = []
        assert wait_for(lambda: cmds.extend(p.feed(dev.read())) or cmds)
        assert cmds == [sl.CmdLine("c2", "set_speed", {"rpm": "300"})]
        assert link.counters.write_failed == 1
    finally:
        link.stop()
        dev.close()


def test_missing_port_is_retried_not_raised(tmp_path, wait_for):
    link = SerialLink(str(tmp_path / "nope"), min_backoff=0.01, max_backoff=0.05).start()
    try:
        assert wait_for(lambda: link.counters.open_failures >= 2)
        assert not link.connected and "nope" in link.last_error
    finally:
        link.stop()
