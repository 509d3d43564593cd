"""Drawing scenes: animated GIFs, side-by-side comparisons and a gallery sheet (Pillow).

Renderers read saved data (a header plus per-frame positions and angles); nothing in the
simulation or metrics imports this module. World coordinates are px with y up; images have y
down, so every point goes through :meth:`Canvas.to_image`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# Palette (index -> RGB). Drawing happens in palette mode: small GIFs, no quantisation pass.
PALETTE = {
    "background": (250, 250, 247),
    "static": (120, 120, 120),
    "joint": (60, 60, 60),
    "text": (20, 20, 20),
    "green": (40, 160, 70),  # ground truth
    "green_fill": (190, 230, 195),
    "blue": (40, 90, 200),  # prediction
    "blue_fill": (190, 210, 245),
    "force": (200, 120, 40),
}
_INDEX = {name: i for i, name in enumerate(PALETTE)}
_FLAT_PALETTE = [c for rgb in PALETTE.values() for c in rgb]
STYLES = {"truth": ("green", "green_fill"), "prediction": ("blue", "blue_fill")}


def frame_step(dt: float, fps: float) -> int:
    """Every how many simulation frames to draw one GIF frame so playback runs in real time."""
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    return max(1, round(1.0 / (dt * fps)))


@dataclass
class Canvas:
    """Maps world px (y up) to image px (y down) at ``scale``."""

    world_size: tuple[float, float]
    scale: float

    @property
    def image_size(self) -> tuple[int, int]:
        return round(self.world_size[0] * self.scale), round(self.world_size[1] * self.scale)

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        return x * self.scale, (self.world_size[1] - y) * self.scale

    def new_image(self) -> Image.Image:
        im = Image.new("P", self.image_size, _INDEX["background"])
        im.putpalette(_FLAT_PALETTE)
        return im


def _local_point(pos, angle, world_point) -> tuple[float, float]:
    """A world point expressed in the frame of a body at ``pos``/``angle``."""
    dx, dy = world_point[0] - pos[0], world_point[1] - pos[1]
    c, s = math.cos(angle), math.sin(angle)
    return dx * c + dy * s, -dx * s + dy * c


def _world_point(pos, angle, local) -> tuple[float, float]:
    c, s = math.cos(angle), math.sin(angle)
    return pos[0] + local[0] * c - local[1] * s, pos[1] + local[0] * s + local[1] * c


def _joint_lines(header: dict) -> list[tuple]:
    """Per drawable constraint: ((body_a, local_a), (body_b, local_b)), body -1 = world (local = world)."""
    objs = header["objects"]

    def attach(body: int, point):
        if body < 0:
            return body, tuple(point)
        return body, _local_point(objs[body]["pos"], objs[body].get("angle", 0.0), point)

    lines = []
    for c in header["constraints"]:
        if "anchor_a" in c:
            lines.append((attach(c["a"], c["anchor_a"]), attach(c["b"], c["anchor_b"])))
        elif c["type"] == "pivot":
            lines.append((attach(c["a"], c["pivot"]), attach(c["b"], c["pivot"])))
        elif c["type"] == "groove":
            lines.append((attach(c["a"], c["groove_a"]), attach(c["a"], c["groove_b"])))
    return lines


class SceneRenderer:
    """Draws frames of one scene. ``pos``: (T, N, 2), ``angle``: (T, N)."""

    def __init__(self, header: dict, scale: float = 0.5):
        self.header = header
        self.canvas = Canvas(tuple(header["canvas"]), scale)
        self.joints = _joint_lines(header)

    def _draw_static(self, draw: ImageDraw.ImageDraw) -> None:
        cv, col = self.canvas, _INDEX["static"]
        for s in self.header["static"]:
            if s["shape"] == "segment":
                width = max(1, round(2 * s["radius"] * cv.scale))
                draw.line([cv.to_image(*s["a"]), cv.to_image(*s["b"])], fill=col, width=width)
            elif s["shape"] == "circle":
                x, y = cv.to_image(*s["center"])
                r = s["radius"] * cv.scale
                draw.ellipse([x - r, y - r, x + r, y + r], fill=col)
            else:
                draw.polygon([cv.to_image(*v) for v in s["vertices"]], fill=col)
        for f in self.header["forces"]:
            if f["type"] == "central":  # mark attractors with a small cross
                x, y = cv.to_image(*f["center"])
                fc = _INDEX["force"]
                draw.line([x - 5, y, x + 5, y], fill=fc, width=2)
                draw.line([x, y - 5, x, y + 5], fill=fc, width=2)

    def draw(self, im: Image.Image, pos: np.ndarray, angle: np.ndarray, style: str = "truth") -> None:
        """Draw one frame (``pos`` (N, 2), ``angle`` (N,)) onto ``im``."""
        line_name, fill_name = STYLES[style]
        line, fill = _INDEX[line_name], _INDEX[fill_name]
        cv = self.canvas
        draw = ImageDraw.Draw(im)
        self._draw_static(draw)
        for obj, p, a in zip(self.header["objects"], pos.tolist(), angle.tolist()):
            if obj["shape"] == "circle":
                x, y = cv.to_image(*p)
                r = max(obj["radius"] * cv.scale, 1.0)
                draw.ellipse([x - r, y - r, x + r, y + r], fill=fill, outline=line)
                draw.line([(x, y), cv.to_image(*_world_point(p, a, (obj["radius"], 0.0)))], fill=line)
            else:
                if obj["shape"] == "box":
                    hw, hh = obj["size"][0] / 2, obj["size"][1] / 2
                    local = [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
                else:
                    local = obj["vertices"]
                draw.polygon([cv.to_image(*_world_point(p, a, v)) for v in local], fill=fill, outline=line)
        joint = _INDEX["joint"]
        for ends in self.joints:
            pts = [end if body < 0 else _world_point(pos[body].tolist(), float(angle[body]), end)
                   for body, end in ends]
            draw.line([cv.to_image(*pt) for pt in pts], fill=joint, width=1)

    def frames(self, pos: np.ndarray, angle: np.ndarray, step: int = 1, style: str = "truth",
               label: str | None = None) -> list[Image.Image]:
        out = []
        for t in range(0, pos.shape[0], step):
            im = self.canvas.new_image()
            self.draw(im, pos[t], angle[t], style)
            if label:
                ImageDraw.Draw(im).text((4, 3), label, fill=_INDEX["text"])
            out.append(im)
        return out


def side_by_side(left: list[Image.Image], right: list[Image.Image], gap: int = 4) -> list[Image.Image]:
    """Pair frames horizontally (left: ground truth, right: prediction, by convention)."""
    if len(left) != len(right):
        raise ValueError(f"frame counts differ: {len(left)} vs {len(right)}")
    out = []
    for a, b in zip(left, right):
        im = Image.new("P", (a.width + gap + b.width, max(a.height, b.height)), _INDEX["text"])
        im.putpalette(_FLAT_PALETTE)
        im.paste(a, (0, 0))
        im.paste(b, (a.width + gap, 0))
        out.append(im)
    return out


def save_gif(frames: list[Image.Image], path: str | Path, fps: float) -> None:
    if not frames:
        raise ValueError("no frames to save")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0,
                   optimize=False, disposal=1)


def contact_sheet(tiles: list[Image.Image], columns: int, gap: int = 4) -> Image.Image:
    """A grid of equally sized tiles (the gallery overview)."""
    if not tiles:
        raise ValueError("no tiles")
    w, h = tiles[0].size
    rows = math.ceil(len(tiles) / columns)
    sheet = Image.new("RGB", (columns * (w + gap) + gap, rows * (h + gap) + gap), PALETTE["text"])
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet.paste(tile.convert("RGB"), (gap + c * (w + gap), gap + r * (h + gap)))
    return sheet


# Line colours of the error-vs-horizon plot, in series order (model first, then the baselines).
PLOT_COLORS = [(40, 90, 200), (120, 120, 120), (40, 160, 70), (200, 120, 40), (170, 60, 160), (200, 50, 50)]


def plot_error_vs_horizon(panels: dict[str, dict[str, list]], path: str | Path, ylabel: str = "position RMSE (px)",
                          xlabel: str = "horizon step", panel_size: tuple[int, int] = (420, 300)) -> Path:
    """Line plot (Pillow, PNG): one panel per entry of ``panels`` (title -> {series name -> values per
    step}), side by side with a shared y range; ``None`` values leave a gap. Series keep their order,
    and a series name gets the same colour in every panel. Returns ``path``."""
    if not panels:
        raise ValueError("no panels to plot")
    names: list[str] = []
    for series in panels.values():
        names += [n for n in series if n not in names]
    colors = {n: PLOT_COLORS[i % len(PLOT_COLORS)] for i, n in enumerate(names)}
    values = [v for series in panels.values() for ys in series.values() for v in ys if v is not None]
    y_max = max(values) * 1.05 if values and max(values) > 0 else 1.0
    n_steps = max((len(ys) for series in panels.values() for ys in series.values()), default=1)
    pw, ph = panel_size
    left, right, top, bottom = 56, 12, 24, 36
    legend_h = 16 * len(names) + 8
    im = Image.new("RGB", (pw * len(panels), ph + legend_h), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    black, grey = (20, 20, 20), (215, 215, 215)
    for k, (title, series) in enumerate(panels.items()):
        x0, x1, y0, y1 = k * pw + left, (k + 1) * pw - right, top, ph - bottom

        def to_xy(h: int, v: float):
            x = x0 + (x1 - x0) * (h / max(n_steps - 1, 1))
            return x, y1 - (y1 - y0) * (v / y_max)

        for i in range(5):  # y grid and tick labels
            v = y_max * i / 4
            _, y = to_xy(0, v)
            draw.line([(x0, y), (x1, y)], fill=grey)
            draw.text((k * pw + 4, y - 6), f"{v:.3g}", fill=black)
        for h in sorted({0, n_steps - 1, (n_steps - 1) // 2}):  # x ticks: steps are 1-based on the axis
            x, _ = to_xy(h, 0)
            draw.line([(x, y1), (x, y1 + 4)], fill=black)
            draw.text((x - 4, y1 + 6), str(h + 1), fill=black)
        draw.rectangle([x0, y0, x1, y1], outline=black)
        draw.text((x0, 6), title, fill=black)
        draw.text(((x0 + x1) // 2 - 30, ph - 16), xlabel, fill=black)
        for name, ys in reversed(list(series.items())):  # the first series (the model) on top
            run: list[tuple[float, float]] = []
            for h, v in enumerate(list(ys) + [None]):
                if v is None:
                    if len(run) > 1:
                        draw.line(run, fill=colors[name], width=2)
                    elif run:
                        x, y = run[0]
                        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colors[name])
                    run = []
                else:
                    run.append(to_xy(h, v))
    draw.text((4, ph - 16), ylabel, fill=black)
    for i, name in enumerate(names):
        y = ph + 4 + 16 * i
        draw.line([(left, y + 6), (left + 24, y + 6)], fill=colors[name], width=3)
        draw.text((left + 30, y), name, fill=black)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path
