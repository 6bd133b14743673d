"""Small themed building blocks for the scene's 2D widgets (camera.ui): one look everywhere.

Sizes are in camera.ui units (1 = the window's height), so the layout scales with the window
and reads the same at 1920x1080 and 1280x720. Text scale 1 is Ursina's Text.size (0.025 of the
height, 27 px at 1080p). Every Text here is built with use_tags=False: Ursina otherwise reads
'<...>' as colour tags, and allowed ranges such as '<= 20 Hz' would vanish.
"""

from __future__ import annotations

from ursina import Button, Entity, Text, camera, color

# --- theme -------------------------------------------------------------------------------
PANEL = color.rgba(0.06, 0.07, 0.10, 0.86)  # dark translucent: the rig shows through a little
PANEL_EDGE = color.rgba(0.35, 0.40, 0.50, 0.9)
FIELD = color.rgba(0.14, 0.16, 0.21, 1)
BUTTON = color.rgba(0.20, 0.30, 0.45, 1)
ACCENT = color.rgba(0.30, 0.75, 1.00, 1)
TEXT = color.rgba(0.92, 0.94, 0.97, 1)
MUTED = color.rgba(0.62, 0.66, 0.74, 1)
ERROR = color.rgba(1.00, 0.35, 0.30, 1)
OK = color.rgba(0.40, 0.90, 0.50, 1)
ESTOP = color.rgba(0.85, 0.08, 0.06, 1)
# series colours: distinct for the common colour-vision deficiencies, bright on dark
SERIES = (color.rgba(0.30, 0.75, 1.00, 1), color.rgba(1.00, 0.62, 0.15, 1),
          color.rgba(0.45, 0.90, 0.45, 1), color.rgba(0.95, 0.45, 0.85, 1))

TEXT_L = 1.25  # titles
TEXT_M = 1.0  # labels, buttons, values
TEXT_S = 0.8  # tick labels, hints (~22 px at 1080p, ~14 px at 720p: the smallest we use)
ROW = 0.05  # height of one input row


def label(text: str = "", parent=None, position=(0, 0), scale: float = TEXT_M, colour=TEXT,
          origin=(-0.5, 0.5), z: float = -0.02, **kwargs) -> Text:
    """A Text anchored at `origin` (default top-left), tags off."""
    t = Text(text="", parent=parent if parent is not None else camera.ui, use_tags=False,
             origin=origin, scale=scale, color=colour, **kwargs)
    t.position = (position[0], position[1], z)
    t.text = str(text)
    return t


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
    elif b.text_entity.text != text:
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
