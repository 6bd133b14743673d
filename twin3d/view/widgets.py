"""Small themed building blocks for the scene's 2D widgets (camera.ui): one look everywhere.

Sizes are in camera.ui units (1 = the window's height), so the layout scales with the window
and reads the same at 1920x1080 and 1280x720. Text scale 1 is Ursina's Text.size (0.025 of the
height, 27 px at 1080p). Every Text here is built with use_tags=False: Ursina otherwise reads
'<...>' as colour tags, and allowed ranges such as '<= 20 Hz' would vanish.
"""

from __future__ import annotations

import math
import textwrap

from ursina import Button, Entity, Text, camera, color

# --- theme -------------------------------------------------------------------------------
PANEL = color.rgba(0.06, 0.07, 0.10, 1)  # opaque: nothing of the scene shows through text
LEGEND = color.rgba(0.06, 0.07, 0.10, 0.96)  # behind a plot's legend: data must not show through
PANEL_EDGE = color.rgba(0.35, 0.40, 0.50, 0.9)
FIELD = color.rgba(0.14, 0.16, 0.21, 1)
BUTTON = color.rgba(0.20, 0.30, 0.45, 1)
ACCENT = color.rgba(0.30, 0.75, 1.00, 1)
TEXT = color.rgba(0.92, 0.94, 0.97, 1)
MUTED = color.rgba(0.62, 0.66, 0.74, 1)
ERROR = color.rgba(1.00, 0.35, 0.30, 1)
OK = color.rgba(0.40, 0.90, 0.50, 1)
WARN = color.rgba(1.00, 0.72, 0.20, 1)  # amber: unstable / refused / needs attention
ESTOP = color.rgba(0.85, 0.08, 0.06, 1)
# series colours: distinct for the common colour-vision deficiencies, bright on dark
SERIES = (color.rgba(0.30, 0.75, 1.00, 1), color.rgba(1.00, 0.62, 0.15, 1),
          color.rgba(0.45, 0.90, 0.45, 1), color.rgba(0.95, 0.45, 0.85, 1))

# The smallest text readable at ~3 m on a 1080p screen; scales with the window height.
MIN_TEXT_PX_1080 = 22
TEXT_L = 1.25  # titles
TEXT_M = 1.0  # labels, buttons, values
# tick labels, hints: the smallest we use, rounded up to meet MIN_TEXT_PX_1080 (0.82 = 22.1 px)
TEXT_S = math.ceil(MIN_TEXT_PX_1080 / (Text.size * 1080) * 100) / 100
ROW = 0.05  # height of one input row


def wrap_measured(text: str, width: float, measure, max_lines: int = 0) -> str:
    """`text` word-wrapped so that measure(line) <= width for every line (a word too long for
    a line is split); with max_lines, the last kept line ends in '…'. Pure: measure is any
    line -> width function."""
    lines: list[str] = []
    for para in str(text).split("\n"):
        line = ""
        for word in para.split(" "):
            trial = f"{line} {word}" if line else word
            if measure(trial) <= width:
                line = trial
                continue
            if line:
                lines.append(line)
            while len(word) > 1 and measure(word) > width:  # split a word wider than a line
                k = len(word) - 1
                while k > 1 and measure(word[:k]) > width:
                    k -= 1
                lines.append(word[:k])
                word = word[k:]
            line = word
        lines.append(line)
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1].rstrip()
        while last and measure(last + "\u2026") > width:
            last = last[:-1].rstrip()
        lines[-1] = last + "\u2026"
    return "\n".join(lines)


class Label(Text):
    """A Text with tags off and word wrap, re-applied on every text change (Ursina's own
    wordwrap only wraps the text present when it is set): at `wrap` characters, or measured
    in the font to `wrap_width` camera.ui units (layout.place sets it) and at most `max_lines`
    lines. `source_text` keeps the text as given."""

    def __init__(self, wrap: int = 0, wrap_width: float = 0.0, max_lines: int = 0, **kwargs):
        self.wrap, self.wrap_width, self.max_lines = wrap, wrap_width, max_lines
        self.source_text = ""
        super().__init__(use_tags=False, **kwargs)

    @property
    def text(self) -> str:
        return Text.text.fget(self)

    @text.setter
    def text(self, value) -> None:
        value = self.source_text = str(value)
        if self.wrap_width:
            value = wrap_measured(value, self.wrap_width, self.measure, self.max_lines)
        elif self.wrap:
            value = "\n".join(textwrap.fill(line, self.wrap) if line else ""
                              for line in value.split("\n"))
        Text.text.fset(self, value)
        if "\n" in value and self.origin[0] != -0.5:
            # without tags Ursina lays the lines out as one block aligned by its first line;
            # the font node aligns each line itself
            from panda3d.core import TextNode

            align = TextNode.ACenter if self.origin[0] == 0 else TextNode.ARight
            for node in self.text_nodes:
                node.node().setAlign(align)
                node.setX(0)

    def measure(self, line: str) -> float:
        """The width of one line of this Label in camera.ui units."""
        from panda3d.core import TextNode

        node = getattr(Label, "_measure_node", None)
        if node is None:
            node = Label._measure_node = TextNode("measure")
        node.setFont(self._font)
        return node.calcWidth(line) * Text.size * abs(self.getScale(camera.ui)[0])


def label(text: str = "", parent=None, position=(0, 0), scale: float = TEXT_M, colour=TEXT,
          origin=(-0.5, 0.5), z: float = -0.02, wrap: int = 0, wrap_width: float = 0.0,
          max_lines: int = 0) -> Label:
    """A Label anchored at `origin` (default top-left), wrapped at `wrap` characters or to
    `wrap_width` camera.ui units (measured in the font)."""
    t = Label(wrap=wrap, wrap_width=wrap_width, max_lines=max_lines,
              parent=parent if parent is not None else camera.ui, origin=origin, scale=scale,
              color=colour)
    t.position = (position[0], position[1], z)
    t.text = str(text)
    return t


def wrap_chars(width: float, scale: float) -> int:
    """About how many characters of text at `scale` fit in `width` camera.ui units."""
    return max(8, int(width / (Text.size * scale * 0.52)))


def box(parent, position, size, colour=PANEL, z: float = 0.01, **kwargs) -> Entity:
    """A flat rectangle with its top-left corner at `position` and `size` = (w, h)."""
    return Entity(parent=parent, model="quad", origin=(-0.5, 0.5), color=colour,
                  position=(position[0], position[1], z), scale=(size[0], size[1]), **kwargs)


def button(text: str, parent, position, size, on_click=None, colour=BUTTON,
           text_scale: float = TEXT_M, z: float = -0.01) -> Button:
    """A Button whose `position` is its top-left corner (Ursina's is the centre)."""
    b = Button(text=text, parent=parent, color=colour, scale=(size[0], size[1]),
               position=(position[0] + size[0] / 2, position[1] - size[1] / 2, z), radius=0.15,
               highlight_color=colour.tint(0.15), pressed_color=colour.tint(-0.15))
    if b.text_entity is not None:
        b.text_entity.use_tags = False
        b.text_entity.text = text
        b.text_entity.world_scale = b.text_entity.world_scale * text_scale
        b.text_entity.color = TEXT
    if on_click is not None:
        b.on_click = on_click
    return b


def set_button_text(b: Button, text: str) -> None:
    if b.text_entity is None:
        b.text = text
    elif b.text_entity.raw_text != text:
        # the tag parser lays out (and centres) line by line; safe when there is no '<'
        b.text_entity.use_tags = "<" not in text
        b.text_entity.text = text


class ProgressBar(Entity):
    """A thin bar: background plus a fill scaled by `value` in 0..1."""

    def __init__(self, parent, position, size, colour=ACCENT):
        super().__init__(parent=parent, position=(position[0], position[1], -0.01))
        self.bg = box(self, (0, 0), size, FIELD, z=0)
        self.fill = box(self, (0, 0), (size[0], size[1]), colour, z=-0.005)
        self.width = size[0]
        self.value = 0.0

    @property
    def value(self) -> float:
        return self._value

    @value.setter
    def value(self, v: float) -> None:
        self._value = min(max(float(v), 0.0), 1.0)
        self.fill.scale_x = max(self._value * self.width, 1e-4)
        self.fill.enabled = self._value > 0


class TextBox(Button):
    """A one-line text field: click (or `activate()`) to type; Enter, Escape or a click elsewhere
    ends editing, Tab moves to `next_box`. Long values show their end with a leading ellipsis,
    so a field never spills out of its panel. `value` holds the full text."""

    active_box: "TextBox | None" = None

    def __init__(self, parent, position, size, value: str = "", on_change=None,
                 on_focus=None, text_scale: float = TEXT_M, placeholder: str = ""):
        super().__init__(text=" ", parent=parent, position=(0, 0), scale=(size[0], size[1]),
                         color=FIELD, radius=0.1, highlight_color=FIELD.tint(0.08),
                         pressed_color=FIELD)
        self.position = (position[0] + size[0] / 2, position[1] - size[1] / 2, -0.01)
        self.text_entity.use_tags = False
        self.text_entity.origin = (-0.5, 0)
        self.text_entity.world_scale = self.text_entity.world_scale * text_scale
        self.text_entity.x = -0.46
        self.text_entity.color = TEXT
        self._chars = max(4, int(size[0] / (Text.size * text_scale * 0.55)))
        self.on_change, self.on_focus, self.next_box = on_change, on_focus, None
        self.on_click = self.activate
        self.placeholder = placeholder
        self._value = ""
        self.value = value

    @property
    def value(self) -> str:
        return self._value

    @value.setter
    def value(self, text: str) -> None:
        self._value = str(text)
        self._show()

    @property
    def editing(self) -> bool:
        return TextBox.active_box is self

    def _show(self) -> None:
        shown = self._value + ("|" if self.editing else "")
        if len(shown) > self._chars:
            shown = "\u2026" + shown[-(self._chars - 1):]
        hint = not shown and self.placeholder
        self.text_entity.text = self.placeholder if hint else (shown or " ")
        self.text_entity.color = MUTED if hint else TEXT
        self.color = FIELD.tint(0.12) if self.editing else FIELD

    def activate(self) -> None:
        previous = TextBox.active_box
        TextBox.active_box = self
        if previous is not None and previous is not self:
            previous._show()
        self._show()
        if self.on_focus:
            self.on_focus()

    def deactivate(self) -> None:
        if self.editing:
            TextBox.active_box = None
            self._show()

    def _edit(self, text: str) -> None:
        self._value = text
        self._show()
        if self.on_change:
            self.on_change(text)

    def text_input(self, key: str) -> None:
        if self.editing and self.enabled:
            self._edit(self._value + key)

    def input(self, key: str):
        if not self.editing:
            return None
        if key in ("backspace", "backspace hold"):
            self._edit(self._value[:-1])
        elif key in ("enter", "escape"):
            self.deactivate()
        elif key == "tab":
            self.deactivate()
            if self.next_box is not None:
                self.next_box.activate()
        elif key == "left mouse down" and not self.hovered:
            self.deactivate()
        else:
            return None
        return True  # eat the key: typing must not drive the rest of the scene

    def on_destroy(self) -> None:
        if TextBox.active_box is self:
            TextBox.active_box = None


class CycleButton(Button):
    """Steps through `options` on each click; `value` is the current option."""

    def __init__(self, parent, position, size, options, value=None, shown=str, on_change=None,
                 text_scale: float = TEXT_M):
        super().__init__(text=" ", parent=parent, scale=(size[0], size[1]), color=BUTTON,
                         radius=0.1, highlight_color=BUTTON.tint(0.12),
                         pressed_color=BUTTON.tint(-0.12))
        self.position = (position[0] + size[0] / 2, position[1] - size[1] / 2, -0.01)
        self.text_entity.use_tags = False
        self.text_entity.world_scale = self.text_entity.world_scale * text_scale
        self.text_entity.color = TEXT
        self.options, self.shown, self.on_change = list(options), shown, on_change
        self._value = None
        self.value = value if value in self.options else self.options[0]
        self.on_click = self.cycle

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v) -> None:
        if v not in self.options:
            raise ValueError(f"{v!r} is not one of {self.options}")
        self._value = v
        set_button_text(self, "\u203a " + self.shown(v))  # a glyph the font has

    def cycle(self) -> None:
        self.value = self.options[(self.options.index(self._value) + 1) % len(self.options)]
        if self.on_change:
            self.on_change(self._value)
