"""The `twin3d` command line: one parser, one sub-command module per group. Every computing
command takes --json and then prints exactly one JSON object on stdout; bad input exits 2 with
one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from twin3d.cli import analysis_cmds, history_cmds, live_cmds, rig_cmds, scene_cmds, web_cmds
from twin3d.cli import calibration_cmds, import_cmds, sweep_cmds, warmup_cmds
from twin3d.cli.common import Parser, UsageError
from twin3d.scenefile.schema import SchemaError

# Each group has register(add): add(name, func, help, computes=True) returns the sub-parser.
GROUPS = (scene_cmds, analysis_cmds, live_cmds, calibration_cmds, rig_cmds, web_cmds, history_cmds,
          sweep_cmds, import_cmds, warmup_cmds)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="twin3d", description="3D virtual twin of a base-shaken three-storey "
               "structure. Every command takes --scene NAME|PATH.")
    sub = p.add_subparsers(dest="command", parser_class=Parser, required=True)

    def add(name: str, func: Callable, help_: str, computes: bool = True) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--scene", default="three_storey", help="scene name or .toml path")
        if computes:
            sp.add_argument("--json", action="store_true", help="print one JSON object")
        sp.set_defaults(func=func)
        return sp

    for group in GROUPS:
        group.register(add)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        with warmup_cmds.compile_progress(args.command):  # a line while kernels compile
            return args.func(args)
    except (UsageError, SchemaError) as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("twin3d: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `twin3d ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 0
    except Exception as e:  # never a traceback for users; TWIN3D_DEBUG=1 shows it
        if os.environ.get("TWIN3D_DEBUG"):
            raise
        print(f"twin3d: internal error: {type(e).__name__}: {e} "
              "(run with TWIN3D_DEBUG=1 for details)", file=sys.stderr)
        return 1
