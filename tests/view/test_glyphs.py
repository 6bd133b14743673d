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


def _strings_with_non_ascii() -> dict[str, list[str]]:
    """Each non-ASCII character in a string literal of the package (not in comments): where."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
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
