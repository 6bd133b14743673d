"""Every character the scene may write has a glyph in its font: panda3d draws a character the
font lacks as nothing (a "next \u25b8" button read "next", with one warning on stderr)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "twin3d"


def _font():
    """Ursina's default font, found without importing Ursina (panda3d reads its configuration
    at import: view/engine.py must come first in a process that draws)."""
    import importlib.util
    import re

    from PIL import ImageFont

    ursina = Path(importlib.util.find_spec("ursina").origin).parent
    name = re.search(r"default_font = '([^']+)'", (ursina / "text.py").read_text()).group(1)
    return ImageFont.truetype(str(ursina / "fonts" / name), 40)


NOT_DRAWN = ("cli", "web")  # the terminal's and the browser's text, not the scene's font


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants of a module, its classes and functions."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _strings_with_non_ascii() -> dict[str, list[str]]:
    """Each non-ASCII character in a string literal the scene may draw (not in comments or
    docstrings, nor in the command line's and the web page's code): where."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] in NOT_DRAWN:
            continue
        tree = ast.parse(path.read_text(), str(path))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docs:
                for ch in set(node.value) - set(map(chr, range(128))):
                    found.setdefault(ch, []).append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_the_font_check_tells_a_missing_glyph_from_a_present_one():
    font = _font()
    notdef = bytes(font.getmask("\U0010fff0"))  # a private-use code point: the font's box
    assert bytes(font.getmask("\u25b8")) == notdef  # the triangle the buttons used to show
    assert bytes(font.getmask("\u203a")) != notdef and bytes(font.getmask("A")) != notdef


def test_every_non_ascii_character_in_the_package_strings_has_a_glyph():
    font = _font()
    notdef = bytes(font.getmask("\U0010fff0"))
    found = _strings_with_non_ascii()
    assert len(found) > 5  # the scan sees the package's text (units, dashes, Greek letters)
    missing = {f"U+{ord(ch):04X} {ch}": where[:3] for ch, where in found.items()
               if ch.isprintable() and bytes(font.getmask(ch)) == notdef}
    if missing:
        pytest.fail(f"characters the font cannot draw: {missing}")
