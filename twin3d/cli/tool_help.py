"""`twin3d tool NAME --help`: the tool's summary and every input with its unit, allowed range
and default, read from the tool's declarations (`schema.spec` on its Inputs); `--help` before or
without a tool name (or with `list`) prints the command's own help."""

from __future__ import annotations

import argparse
import textwrap

# what a field allows when its declaration gives no range or choices, by type
_ANY = {"float": "any number", "int": "any integer", "str": "any text", "bool": "true | false",
        "tuple": "a list", "dict": "a table"}


def toml_literal(value) -> str:
    """A default as the TOML literal `--set KEY=...` takes back (strings quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    return str(value)


def tool_help(name: str, usage: str) -> str:
    """The help page of one tool; SchemaError (one line, exit 2) if there is no such tool."""
    from twin3d import tools
    from twin3d.scenefile.schema import describe

    mod = tools.get(name)

    fields = describe(mod.Inputs)
    width = max(len(f["name"]) for f in fields) + 2
    lines = [f"twin3d tool {name}: {mod.SUMMARY}", "",
             usage.replace("name", name, 1).strip(), "",
             "inputs (--set KEY=VALUE, or a TOML file of them with --inputs FILE):"]
    for f in fields:
        allowed = f["allowed"] or ("a profile of the scene (empty: its active model)"
                                   if f["name"] == "profile" else _ANY.get(f["type"], f["type"]))
        unit = f" [{f['unit']}]" if f["unit"] and f["unit"] not in allowed else ""
        lines.append(f"  {f['name']:<{width}}{f['type']}{unit}, allowed {allowed}, "
                     f"default {toml_literal(f['default'])}")
        if f["doc"]:
            lines += textwrap.wrap(f["doc"], 96, initial_indent=" " * (width + 2),
                                   subsequent_indent=" " * (width + 2))
    lines += ["", f"worked example: twin3d tool {name}"
              + "".join(f" --set {k}={toml_literal(v)}" for k, v in mod.EXAMPLE.items())]
    return "\n".join(lines) + "\n"


class ToolHelp(argparse.Action):
    """-h/--help on `twin3d tool`: the named tool's inputs, or the command's help."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show the tool's inputs (unit, allowed range, default) and exit"):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        name = getattr(namespace, "name", None)  # the positional before --help, if any
        if not name or name == "list":
            parser.print_help()
        else:
            print(tool_help(name, parser.format_usage()), end="")
        parser.exit(0)


def add_tool_help(parser: argparse.ArgumentParser) -> None:
    """Replace the parser's -h/--help with ToolHelp."""
    for group in (parser, *parser._action_groups):  # argparse's groups check conflicts too
        group.conflict_handler = "resolve"
    parser.add_argument("-h", "--help", action=ToolHelp)
