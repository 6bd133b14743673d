"""`twin3d serve` from the command line: it serves and stops by itself; a port in use, a mesh
file it cannot serve or a source it cannot open is one line and exit 2."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import pytest

from twin3d.paths import SCENES


def _serve(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin3d", "serve", *args],
                          capture_output=True, text=True, timeout=timeout)


def _one_line_exit_2(r: subprocess.CompletedProcess, word: str) -> None:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr[-400:]
    assert len(lines) == 1 and "Traceback" not in r.stderr, lines
    assert word in lines[0], lines[0]


def test_a_port_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = _serve("--source", "sim", "--port", str(port), "--seconds", "1")
    _one_line_exit_2(r, "port in use")


def test_a_missing_mesh_file(tmp_path):
    scene = tmp_path / "bad.toml"
    scene.write_text((SCENES / "three_storey.toml").read_text()
                     + '\n[meshes.table]\nfile = "missing.stl"\n')
    r = _serve("--source", "sim", "--scene", str(scene), "--port", "0", "--seconds", "1")
    _one_line_exit_2(r, "missing.stl")
    assert "mesh file" in r.stderr


def test_a_wrong_source_url():
    _one_line_exit_2(_serve("--source", "mqtt://u:pw@127.0.0.1:1/rig1", "--port", "0"),
                     "password in the URL")


@pytest.mark.slow
def test_serve_runs_reports_its_url_and_stops_by_itself():
    p = subprocess.Popen([sys.executable, "-m", "twin3d", "serve", "--source", "sim",
                          "--port", "0", "--seconds", "8", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = json.loads(p.stdout.readline())
        assert out["url"].startswith("http://127.0.0.1:") and out["bind"] == "127.0.0.1"
        st = json.loads(urllib.request.urlopen(out["status"], timeout=10).read())
        assert st["source"] == "sim" and st["viewers"] == 0
        page = urllib.request.urlopen(out["url"], timeout=10).read().decode()
        assert "importmap" in page and "/static/app.js" in page
        assert p.wait(60) == 0, p.stderr.read()[-500:]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
