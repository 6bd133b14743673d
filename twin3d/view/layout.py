"""Where every 2D element goes, and a report of the text on screen (`--layout-report`).

Units are camera.ui's: 1 = the window's height, y up, (0, 0) the centre, x from -aspect/2 to
aspect/2. Regions are laid out from the window's edges with fixed margins, so the same plan
holds from 1280x720 to 3840x2160 (and the side columns stay at the edges on other aspects);
text heights scale with the window, the smallest being widgets.MIN_TEXT_PX_1080 at 1080p.

Regions (`regions(aspect, kiosk)`), no two of one view overlapping (but `trend`, below):
  header   top-left: the caption (what is on screen) and the line under it
  hud      top-right: the status block
  banner   top, under the header: the alarm banner (operator view)
  tools    left column: the tool menu, the calibration panel
  panel    centre: an open tool panel
  plots    right column: the live plots
  motor    right column, under the plots: the motor panel (operator view)
  log      bottom centre: the command log (operator view)
  trend    centre, above the log (above the caption in the kiosk): the history trend; it shares
           the centre with `panel`, so the app hides it while a tool panel is open
  legend   the drift legend: bottom-left (operator), bottom-right (kiosk)
  caption  bottom centre: the kiosk step's caption
  badge    left: the kiosk's QR code

API (stable):
  Rect(x, y, w, h)          top-left corner and size; .left .right .top .bottom, .inset(d),
                            .contains(other), .overlaps(other), .row(y_from_top, h)
  set_view(kiosk)           the kiosk and the operator view differ in a few regions
                            (TwinApp calls it; default operator)
  region(name) -> Rect      the region in the current window and view
  regions(aspect, kiosk) -> {name: Rect}
                            every region of a view for a window shape (pure)
  place(text, region, at=(0, 0), width=None, origin_x=None, max_lines=0) -> text
                            puts a Text's top-left corner at the region's top-left + `at`
                            (origin_x=0: centred in the width, 0.5: right-aligned), word-wraps
                            its text to `width` (default: the rest of the region's width),
                            optionally to at most `max_lines` lines (the last ending in '…'),
                            and registers it; a widgets.Label re-wraps on every later
                            `text =` (others are only placed)
  register(entity, region) -> entity
                            the entity and every Text below it are reported under `region`
                            (register a panel or a plot once; its labels follow)
  report() -> list[dict]    every visible, non-empty Text under camera.ui, for the frame just
                            drawn: {"text", "region" (None if unregistered), "box_px"
                            [x0, y0, x1, y1] (pixels, origin top-left, y down: the ink),
                            "height_px" (the font's line height in pixels)}
  write_report(path)        {"window": [w, h], "view", "min_text_px", "regions" {name: box_px},
                            "elements": report()} as JSON
  problems(report_json) -> list[str]
                            what breaks the layout rules, one line each: a box off screen, two
                            boxes overlapping, a height under the minimum, a box outside its
                            region, an unregistered text (pure: works on the JSON)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from twin3d.view import widgets as W

MARGIN = 0.015  # from the window's edges
GAP = 0.012  # between neighbouring regions
RIGHT_W = 0.42  # the right column (HUD, plots, motor panel)
LEFT_W = 0.30  # the left column (tool menu, calibration, operator legend)
HEADER_H = 0.11  # caption at 1.4 on up to two lines, and one line under it
BANNER_H = 0.07
HUD_BOTTOM = 0.20  # the HUD from the top margin down to here
MOTOR_H = 0.27
LOG_H = 0.115  # five lines of TEXT_S
LEGEND_H = 0.08  # title, colour bar, ticks
TREND_H = 0.26
CAPTION_W = 0.90  # the kiosk caption: centred on the screen
CAPTION_H = 0.16
BADGE = (0.30, 0.30)  # the QR card and its URL

PIXEL_SLACK = 1.0  # px at 1080p: rounding of glyph bounds (an ascender may poke out)


@dataclass(frozen=True)
class Rect:
    """A rectangle in camera.ui units: top-left corner (x, y) and size (w, h), y up."""

    x: float
    y: float
    w: float
    h: float

    @property
    def left(self) -> float:
        return self.x

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def top(self) -> float:
        return self.y

    @property
    def bottom(self) -> float:
        return self.y - self.h

    def inset(self, d: float) -> Rect:
        return Rect(self.x + d, self.y - d, max(self.w - 2 * d, 0.0), max(self.h - 2 * d, 0.0))

    def row(self, from_top: float, h: float) -> Rect:
        """The band of height h starting `from_top` below this rect's top."""
        return Rect(self.x, self.y - from_top, self.w, h)

    def contains(self, other: Rect, slack: float = 1e-9) -> bool:
        return (other.left >= self.left - slack and other.right <= self.right + slack and
                other.bottom >= self.bottom - slack and other.top <= self.top + slack)

    def overlaps(self, other: Rect) -> bool:
        return (min(self.right, other.right) > max(self.left, other.left) and
                min(self.top, other.top) > max(self.bottom, other.bottom))


_view = {"kiosk": False}


def set_view(kiosk: bool) -> None:
    _view["kiosk"] = bool(kiosk)


def regions(aspect: float, kiosk: bool = False) -> dict[str, Rect]:
    """Every region for a window of `aspect` (width / height) and view: pure."""
    half = aspect / 2
    L, R, T, B = -half + MARGIN, half - MARGIN, 0.5 - MARGIN, -0.5 + MARGIN
    rl = R - RIGHT_W  # left edge of the right column
    cl, cr = L + LEFT_W + GAP, rl - GAP  # the centre, between the columns
    header = Rect(L, T, rl - GAP - L, HEADER_H)
    below_header = header.bottom - GAP
    banner = Rect(L, below_header, header.w, BANNER_H)
    top = banner.bottom - GAP  # where the panels start
    hud = Rect(rl, T, RIGHT_W, T - HUD_BOTTOM)
    out = {"header": header, "hud": hud, "banner": banner}
    plots_top = HUD_BOTTOM - GAP
    if kiosk:
        legend = Rect(rl, B + LEGEND_H, RIGHT_W, LEGEND_H)
        out["plots"] = Rect(rl, plots_top, RIGHT_W, plots_top - legend.top - GAP)
        out["legend"] = legend
        # centred on the screen, clear of the side columns on a narrow window
        half = min(CAPTION_W / 2, rl - GAP, -(L + LEFT_W + GAP))
        out["caption"] = Rect(-half, B + CAPTION_H, 2 * half, CAPTION_H)
        out["badge"] = Rect(L, B + CAPTION_H + BADGE[1] + GAP, BADGE[0], BADGE[1])
        out["panel"] = Rect(cl, top, cr - cl, top - (B + CAPTION_H) - GAP)
        out["trend"] = Rect(cl, B + CAPTION_H + GAP + TREND_H, cr - cl, TREND_H)
        out["tools"] = Rect(L, top, LEFT_W, top - out["badge"].top - GAP)
    else:
        motor = Rect(rl, B + MOTOR_H, RIGHT_W, MOTOR_H)
        out["plots"] = Rect(rl, plots_top, RIGHT_W, plots_top - motor.top - GAP)
        out["motor"] = motor
        legend = Rect(L, B + LEGEND_H, LEFT_W, LEGEND_H)
        out["legend"] = legend
        out["tools"] = Rect(L, top, LEFT_W, top - legend.top - GAP)
        log = Rect(cl, B + LOG_H, cr - cl, LOG_H)
        out["log"] = log
        out["panel"] = Rect(cl, top, cr - cl, top - log.top - GAP)
        out["trend"] = Rect(cl, log.top + GAP + TREND_H, cr - cl, TREND_H)
    return out


def stage(aspect: float, view: str = "operator", trend: bool = False,
          badge: bool = False) -> Rect:
    """Where the rig is framed (view/framing.py), by view: "kiosk", clear of the header and
    the right column, above the caption band; "operator", between the side columns, above
    the log; "still" (a render: no panels), the window below the header, above the legend;
    and above the trend while it is shown; right of the kiosk's QR badge while it is shown.
    Not a text region: an open tool panel covers it."""
    rs = regions(aspect, view == "kiosk")
    top = rs["header"].bottom - GAP
    if view == "kiosk":
        left, right, bottom = -aspect / 2 + MARGIN, rs["plots"].left - GAP, rs["caption"].top + GAP
        if badge:
            left = rs["badge"].right + GAP
    elif view == "operator":
        top = rs["banner"].bottom - GAP
        left, right, bottom = rs["panel"].left, rs["panel"].right, rs["log"].top + GAP
    else:
        left, right, bottom = -aspect / 2 + MARGIN, aspect / 2 - MARGIN, rs["legend"].top + GAP
    if trend:
        bottom = rs["trend"].top + GAP
    return Rect(left, top, right - left, top - bottom)


def _window() -> tuple[int, int]:
    from ursina import window

    w, h = window.size
    return int(w), int(h)


def _aspect() -> float:
    w, h = _window()
    return w / h


def region(name: str) -> Rect:
    """The named region in the current window and view (KeyError names the known ones)."""
    rs = regions(_aspect(), _view["kiosk"])
    if name not in rs:
        view = "kiosk" if _view["kiosk"] else "operator"
        raise KeyError(f"no layout region {name!r} in the {view} view (regions: {', '.join(rs)})")
    return rs[name]


def register(entity, region_name: str):
    """Report `entity` and every Text below it under `region_name`."""
    entity.layout_region = region_name
    return entity


def place(text, region_name: str, at=(0.0, 0.0), width: float | None = None,
          origin_x: float | None = None, max_lines: int = 0):
    """Put a Text in a region: its top-left corner at the region's top-left + `at` (camera.ui
    units, y down from the top), wrapped to `width` (default: the rest of the region's width);
    origin_x 0 centres each line in that width, 0.5 right-aligns. Registers it."""
    from ursina import camera

    r = region(region_name)
    width = r.w - at[0] if width is None else width
    ox = -0.5 if origin_x is None else origin_x
    source = getattr(text, "source_text", None)  # Ursina re-sets the shown (wrapped) text
    text.origin = (ox, 0.5)
    x = r.x + at[0] + (ox + 0.5) * width
    text.setPos(camera.ui, x, r.top - at[1], text.getPos(camera.ui)[2])
    if isinstance(text, W.Label):
        text.wrap_width, text.max_lines = width, max_lines
        text.text = source
    return register(text, region_name)


# --- the report ------------------------------------------------------------------------------
def _region_of(entity) -> str | None:
    e = entity
    while e is not None:
        name = getattr(e, "layout_region", None)
        if name:
            return name
        e = getattr(e, "parent", None)
    return None


def _shown_in_ui(entity) -> bool:
    """Enabled and not hidden all the way up to camera.ui (a disabled parent hides it)."""
    from ursina import camera

    e = entity
    while e is not None:
        if e is camera.ui:
            return True
        if not getattr(e, "enabled", True) or e.isHidden():
            return False
        e = getattr(e, "parent", None)
    return False


def report() -> list[dict]:
    from ursina import Text, camera, scene

    w, h = _window()
    out = []
    for e in list(scene.entities):
        if not isinstance(e, Text) or not str(e.text).strip() or not _shown_in_ui(e):
            continue
        if getattr(e, "color", None) is not None and e.color[3] <= 0.01:
            continue
        bounds = e.getTightBounds(camera.ui)
        if bounds is None:
            continue
        lo, hi = bounds
        box = [w / 2 + lo[0] * h, h / 2 - hi[1] * h, w / 2 + hi[0] * h, h / 2 - lo[1] * h]
        height = Text.size * abs(e.getScale(camera.ui)[1]) * h
        out.append({"text": str(e.text), "region": _region_of(e),
                    "box_px": [round(v, 1) for v in box], "height_px": round(height, 1)})
    return out


def region_boxes_px(size: tuple[int, int], kiosk: bool) -> dict[str, list[float]]:
    w, h = size
    return {n: [round(w / 2 + r.left * h, 1), round(h / 2 - r.top * h, 1),
                round(w / 2 + r.right * h, 1), round(h / 2 - r.bottom * h, 1)]
            for n, r in regions(w / h, kiosk).items()}


def write_report(path) -> Path:
    size = _window()
    data = {"window": list(size), "view": "kiosk" if _view["kiosk"] else "operator",
            "min_text_px": round(W.MIN_TEXT_PX_1080 * size[1] / 1080, 2),
            "regions": region_boxes_px(size, _view["kiosk"]), "elements": report()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


def _overlap(a, b, slack: float) -> bool:
    """Boxes overlapping by more than `slack` px both ways (touching edges do not count)."""
    return (min(a[2], b[2]) - max(a[0], b[0]) > slack and
            min(a[3], b[3]) - max(a[1], b[1]) > slack)


def problems(data: dict, slack_px: float = PIXEL_SLACK) -> list[str]:
    """Every broken rule in a report (write_report's JSON), one line each; [] when clean."""
    w, h = data["window"]
    slack_px *= max(1.0, h / 1080)  # glyph rounding grows with the pixels per text height
    regions_px = data.get("regions", {})
    out = []
    els = data["elements"]
    # the minimum is 22 px at 1080p; glyph rounding may shave a fraction of a pixel
    minimum = data["min_text_px"] - 0.05
    for e in els:
        x0, y0, x1, y1 = e["box_px"]
        what = f"{e['text'][:40]!r} ({e['region']})"
        if x0 < -slack_px or y0 < -slack_px or x1 > w + slack_px or y1 > h + slack_px:
            out.append(f"off screen: {what} at {e['box_px']}")
        if e["height_px"] < minimum:
            out.append(f"too small: {what} {e['height_px']} px < {data['min_text_px']} px")
        if e["region"] is None:
            out.append(f"no region: {what}")
        elif e["region"] in regions_px:
            rx0, ry0, rx1, ry1 = regions_px[e["region"]]
            if (x0 < rx0 - slack_px or y0 < ry0 - slack_px or x1 > rx1 + slack_px or
                    y1 > ry1 + slack_px):
                out.append(f"outside its region: {what} at {e['box_px']} not in "
                           f"{regions_px[e['region']]}")
        else:
            out.append(f"unknown region: {what}")
    for i, a in enumerate(els):
        for b in els[i + 1:]:
            if _overlap(a["box_px"], b["box_px"], slack_px):
                out.append(f"overlap: {a['text'][:30]!r} ({a['region']}) and "
                           f"{b['text'][:30]!r} ({b['region']})")
    return out
