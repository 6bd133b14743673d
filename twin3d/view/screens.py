"""The screens of a multi-screen kiosk (`--display N`), numbered from 0 in the order the
system lists them (screeninfo, as Ursina sees them); an error names the screens there are."""

from __future__ import annotations


def monitors() -> list:
    """The screens of this machine's display server; none without one."""
    try:
        from screeninfo import get_monitors

        return list(get_monitors())
    except Exception:  # screeninfo raises ScreenInfoError when no display server answers
        return []


def describe(screens: list) -> str:
    return ", ".join(f"{i}: {m.width}x{m.height} at {m.x},{m.y}"
                     + (" (primary)" if getattr(m, "is_primary", False) else "")
                     for i, m in enumerate(screens))


def pick(n: int, screens: list):
    """Screen `n`, or ValueError with one line that lists the screens there are."""
    if not screens:
        raise ValueError(f"no screen {n}: the display server lists no screens")
    if not 0 <= n < len(screens):
        raise ValueError(f"no screen {n} (there {'is' if len(screens) == 1 else 'are'} "
                         f"{len(screens)}: {describe(screens)})")
    return screens[n]


def place(window, screen, fullscreen: bool, size: tuple[int, int]) -> None:
    """Put Ursina's window on `screen`: covering it (kiosk, fullscreen) or centred on it at
    `size` (computed here: the window reports its new size only frames later)."""
    window.main_monitor = screen  # Ursina's own fullscreen toggle uses its main monitor
    w, h = (screen.width, screen.height) if fullscreen else size
    if fullscreen:
        window.size = (w, h)
    window.position = (screen.x + (screen.width - w) // 2, screen.y + (screen.height - h) // 2)
