"""The CLI contract on bad input, walked as a table: every case exits 2 with one line on stderr
and no traceback, within a bounded time (none of them may start a rig, a monitor or a broker
connection that runs on)."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from twin3d.paths import SCENES

NESTED = "a = " + "[" * 10_000 + "]" * 10_000 + "\n"


def _cases(tmp) -> list[tuple[str, list[str], str]]:
    """(case id, argv, a word the one line must contain)."""
    deep = tmp / "deep.toml"
    deep.write_text(NESTED)
    fast = tmp / "fast.toml"
    src = SCENES / "three_storey.toml"
    fast.write_text(src.read_text().replace("max_speed_rpm = ", "max_speed_rpm = 1e12 #", 1))
    rec = tmp / "rec"
    (tmp / "precious.txt").write_text("a user's file")
    (tmp / "m.csv").write_text("t,a\n0,1\n0.01,2\n0.02,3\n")  # twin3d import's input
    (tmp / "precious.dat").write_bytes(b"\x00\x01 not a measurement")
    return [
        ("deep-toml", ["modes", "--scene", str(deep)], "deep"),
        ("huge-max-speed", ["modes", "--scene", str(fast)], "max_speed_rpm"),
        ("monitor-window-nan", ["monitor", "--window", "nan"], "--window"),
        ("monitor-window-huge", ["monitor", "--window", "1e12"], "--window"),
        ("monitor-window-negative", ["monitor", "--window", "-5"], "--window"),
        ("monitor-seconds-nan", ["monitor", "--seconds", "nan"], "--seconds"),
        ("monitor-jsonl-window-inf", ["monitor", "--jsonl", "--window", "inf"], "--window"),
        ("monitor-unreachable", ["monitor", "--source", "mqtt://127.0.0.1:1", "--seconds",
                                 "2"], "broker"),
        ("record-out-a-file", ["record", "--source", "sim", "--seconds", "1", "--out",
                               "/etc/hostname"], "--out"),
        ("broker-config-out-a-file", ["broker-config", "--out", "/etc/hostname",
                                      "--operator", "op"], "--out"),
        # F9/F10: secrets never on argv or in URLs; config fields from a safe set
        ("rig-auth-with-password", ["rig", "--mqtt", "127.0.0.1:1", "--auth", "user:pw"],
         "--password-file"),
        ("cmd-auth-with-password", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1", "--auth",
                                    "user:pw"], "TWIN3D_MQTT_PASSWORD"),
        ("cmd-target-url-password", ["cmd", "stop", "--target", "mqtt://u:pw@127.0.0.1:1"],
         "password in the URL"),
        ("monitor-url-password", ["monitor", "--source", "mqtt://u:pw@127.0.0.1:1/rig1",
                                  "--seconds", "1"], "password in the URL"),
        ("replay-mqtt-auth-password", ["replay", str(rec), "--mqtt", "127.0.0.1:1", "--auth",
                                       "u:pw"], "--password-file"),
        ("rig-password-file-missing", ["rig", "--mqtt", "127.0.0.1:1", "--auth", "u",
                                       "--password-file", str(tmp / "nope")], "--password-file"),
        ("rig-connection-refused", ["rig", "--mqtt", "127.0.0.1:1", "--connect-timeout", "2"],
         "refused"),
        ("broker-config-bind-newline", ["broker-config", "--out", str(tmp / "bc"), "--operator",
                                        "olga", "--bind", "0.0.0.0\nallow_anonymous true"],
         "bind"),
        ("broker-config-operator-password", ["broker-config", "--out", str(tmp / "bc"),
                                             "--operator", "olga:pw"], "--passwords"),
        ("broker-config-run-as-newline", ["broker-config", "--out", str(tmp / "bc"),
                                          "--operator", "olga", "--run-as", "x\nuser root"],
         "run-as"),
        ("replay-export-proc", ["replay", str(rec), "--export", "csv", "--out", "/proc/x"],
         "--out"),
        ("rig-ambient-huge", ["rig", "--mqtt", "127.0.0.1:1", "--ambient", "1e300"],
         "--ambient"),
        ("rig-ambient-nan", ["rig", "--mqtt", "127.0.0.1:1", "--ambient", "nan"], "--ambient"),
        ("rig-seed-negative", ["rig", "--mqtt", "127.0.0.1:1", "--seed", "-5"], "--seed"),
        ("rig-id-empty", ["rig", "--mqtt", "127.0.0.1:1", "--rig-id", ""], "--rig-id"),
        ("rig-id-slash", ["rig", "--mqtt", "127.0.0.1:1", "--rig-id", "a/b"], "--rig-id"),
        ("rig-id-plus", ["rig", "--mqtt", "127.0.0.1:1", "--rig-id", "+"], "--rig-id"),
        ("rig-unknown-host", ["rig", "--mqtt", "nohost.invalid:1", "--connect-timeout", "2"],
         "nohost"),
        ("rig-connect-timeout-negative", ["rig", "--mqtt", "127.0.0.1:1", "--connect-timeout",
                                          "-1"], "--connect-timeout"),
        ("rig-seconds-nan", ["rig", "--mqtt", "127.0.0.1:1", "--seconds", "nan"], "--seconds"),
        ("cmd-rig-id-plus", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1", "--rig-id", "+"],
         "--rig-id"),
        ("cmd-rig-id-hash", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1", "--rig-id", "#"],
         "--rig-id"),
        ("cmd-ttl-negative", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1", "--ttl", "-1"],
         "--ttl"),
        ("cmd-ttl-zero", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1", "--ttl", "0"],
         "--ttl"),
        ("cmd-ttl-nan", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1", "--ttl", "nan"],
         "--ttl"),
        ("cmd-ttl-huge", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1", "--ttl", "1e12"],
         "--ttl"),
        ("cmd-timeout-nan", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1", "--timeout",
                             "nan"], "--timeout"),
        ("cmd-hold-negative", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1", "--hold", "-1"],
         "--hold"),
        ("render-size-bad", ["render", "--out", str(tmp / "x.png"), "--size", "10x10"], "size"),
        ("render-out-a-dir", ["render", "--out", "/proc", "--size", "320x200"], "--out"),
        ("demo-seconds-nan", ["demo", "--window", "none", "--seconds", "nan"], "--seconds"),
        ("replay-speed-nan", ["replay", str(rec), "--speed", "nan"], "--speed"),
        ("rig-serial-on-a-file", ["rig", "--serial", str(tmp / "precious.txt"), "--seconds",
                                  "1"], "--serial"),
        ("tool-unknown", ["tool", "no_such_tool"], "no_such_tool"),
        # model_update on measured data: a damaged file, no input channel, a band upside down
        ("model-update-damaged-data", ["tool", "model_update", "--set",
                                       f"data={json.dumps(str(tmp / 'precious.dat'))}"],
         "precious.dat"),
        ("model-update-no-input", ["tool", "model_update", "--set",
                                   f"data={json.dumps(str(tmp / 'm.csv'))}", "--set",
                                   'map="a=acc_floor1"'], "no input channel"),
        ("model-update-band-upside-down", ["tool", "model_update", "--set", "bands=[[5, 2]]"],
         "bands"),
        ("unknown-command", ["frobnicate"], "frobnicate"),
        ("serve-wrong-source", ["serve", "--source", "bogus:x", "--port", "0"], "--source"),
        ("serve-unreachable", ["serve", "--source", "mqtt://127.0.0.1:1", "--port", "0"],
         "broker"),
        ("serve-replay-missing", ["serve", "--source", f"replay:{tmp / 'nope'}", "--port", "0"],
         "recording"),
        ("serve-bind-bad", ["serve", "--source", "sim", "--bind", "lan"], "--bind"),
        ("serve-rate-nan", ["serve", "--source", "sim", "--rate", "nan"], "--rate"),
        # the monitoring history: a store URL of the wrong form, a time that is not one
        ("monitor-store-scheme", ["monitor", "--store", "mysql://u@h/db"], "--store"),
        ("history-since-words", ["history", "--since", "last tuesday"], "--since"),
        ("history-no-store-file", ["history", "--store", f"sqlite:///{tmp}/none.sqlite"],
         "no history"),
        # sweeps: a key the tool does not have, a distribution with bad parameters, no scheduler
        ("sweep-unknown-key", ["sweep", "simulator", "--grid", "nonsense=1,2", "--out",
                               str(tmp / "s.parquet")], "nonsense"),
        ("sweep-bad-distribution", ["sweep", "simulator", "--samples", "3", "--vary",
                                    "duration_s=uniform(5,1)", "--out", str(tmp / "s.parquet")],
         "low < high"),
        ("sweep-unreachable-scheduler", ["sweep", "simulator", "--grid", "floor=1",
                                         "--executor", "dask://127.0.0.1:1", "--out",
                                         str(tmp / "s.parquet")], "Dask scheduler"),
        # a broker cluster: an address list with a bad entry; a NATS config out of range
        ("rig-cluster-bad-entry", ["rig", "--mqtt", "127.0.0.1:1,127.0.0.1:x"], "entry 2"),
        ("cmd-cluster-empty-entry", ["cmd", "stop", "--target", "mqtt://127.0.0.1:1,,h:2"],
         "entry 2"),
        ("monitor-cluster-bad-port", ["monitor", "--source", "mqtt://127.0.0.1:1,h:99999/rig1",
                                      "--seconds", "1"], "out of range"),
        ("record-every-rig", ["record", "--source", "mqtt://127.0.0.1:1/+", "--out",
                              str(tmp / "every"), "--seconds", "1"], "twin3d monitor"),
        ("broker-config-nats-nodes", ["broker-config", "--kind", "nats", "--nodes", "0",
                                      "--out", str(tmp / "nc"), "--operator", "o"], "--nodes"),
        ("broker-config-nodes-mosquitto", ["broker-config", "--nodes", "3", "--out",
                                           str(tmp / "nc"), "--operator", "o"], "--kind nats"),
        ("broker-config-nats-dotted", ["broker-config", "--kind", "nats", "--out",
                                       str(tmp / "nc"), "--operator", "o.p"], "topic level"),
        # files of modal testing: a map naming a missing column, a unit that is not the role's,
        # an unknown format, an export that is not UFF
        ("import-missing-column", ["import", str(tmp / "m.csv"), "--map", "b=acc_table",
                                   "--out", str(tmp / "imp")], "column 'b'"),
        ("import-unit-not-role", ["import", str(tmp / "m.csv"), "--map", "a=acc_table:kN",
                                  "--out", str(tmp / "imp")], "acc_table"),
        ("import-unknown-format", ["import", str(tmp / "precious.dat"), "--list"], "suffix"),
        ("modes-export-not-uff", ["modes", "--export", str(tmp / "m.txt")], ".uff"),
        ("replay-export-uff-proc", ["replay", str(rec), "--export", "uff", "--out", "/proc/x"],
         "--out"),
    ]


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin3d", *argv], capture_output=True,
                          text=True, timeout=90)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("contract")
    r = _run(["record", "--source", "sim", "--seconds", "1", "--out", str(tmp / "rec")])
    assert r.returncode == 0, r.stderr
    cases = _cases(tmp)
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda c: _run(c[1]), cases))
    return {c[0]: (c, r) for c, r in zip(cases, done)}


def _ids():
    import pathlib
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return [c[0] for c in _cases(pathlib.Path(d))]


@pytest.mark.slow
@pytest.mark.parametrize("case", _ids())
def test_bad_input_exits_2_with_one_line(results, case):
    (name, argv, word), r = results[case]
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, f"{argv}: exit {r.returncode}: {r.stderr[-400:]}"
    assert "Traceback" not in r.stderr
    assert len(lines) == 1, f"{argv}: {lines}"
    assert word in lines[0], f"{argv}: {lines[0]!r} does not name {word!r}"


def test_replay_json_is_strict_json(tmp_path):
    rec = tmp_path / "rec"
    assert _run(["record", "--source", "sim", "--seconds", "1", "--out", str(rec)]).returncode == 0
    r = _run(["replay", str(rec), "--speed", "0", "--json"])
    assert r.returncode == 0, r.stderr

    def no_constants(name):
        raise ValueError(f"not JSON: {name}")

    out = json.loads(r.stdout, parse_constant=no_constants)  # no Infinity / NaN
    # a replay runs until its recording ends: `seconds` is the time it took, not inf/null
    assert out["seconds"] is not None and out["seconds"] > 0
    assert out["updates"]["count"] == 0  # 1 s holds no full tracker window


def test_rig_serial_never_deletes_a_users_file(tmp_path):
    """Finding 2 of the trust issue: `rig --serial PATH` deleted a regular file at PATH."""
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    r = _run(["rig", "--serial", str(f), "--seconds", "1"])
    assert r.returncode == 2 and "not replacing" in r.stderr
    assert f.read_text() == "keep me"
