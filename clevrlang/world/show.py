"""``clevr world show``: an image with each object's box, id and attributes drawn on.

Boxes come from our scenes' ``bbox``; real CLEVR scenes have none, so only the projected
centre (``pixel_coords``) is marked there. A legend beside the image lists each object's
attributes with a swatch of its CLEVR colour. The font is the one Pillow ships.

>>> import numpy as np
>>> scene = {"objects": [{"size": "large", "color": "red", "material": "metal",
...          "shape": "cube", "pixel_coords": [20, 15, 9.0], "bbox": [10, 5, 30, 25]}]}
>>> draw_overlay(np.zeros((40, 60, 3), np.uint8), scene, scale=2).size[1]
80
"""

from __future__ import annotations

from functools import cache

import numpy as np

from clevrlang.language.vocabulary import ATTRIBUTES, COLOR_RGB

# Box colours that stand out on CLEVR's grey ground and from its eight object colours.
_PALETTE = ((255, 230, 0), (0, 230, 255), (255, 80, 200), (120, 255, 80), (255, 140, 0),
            (170, 120, 255), (255, 255, 255), (0, 255, 170), (255, 90, 90), (90, 160, 255))
_PANEL_BG = (28, 28, 32)
_TEXT = (235, 235, 235)


@cache
def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1: a scalable built-in font
    except TypeError:
        return ImageFont.load_default()


def _label(obj: dict) -> str:
    return " ".join(str(obj.get(a, "?")) for a in ATTRIBUTES)


def _draw_object(draw, i: int, obj: dict, scale: int, font) -> None:
    colour = _PALETTE[i % len(_PALETTE)]
    box = obj.get("bbox")
    if box and box[0] >= 0:
        x0, y0, x1, y1 = (v * scale for v in box)
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour, width=max(1, scale))
        tag = str(i)
        tw, th = draw.textbbox((0, 0), tag, font=font)[2:]
        ty = y0 - th - 2 if y0 - th - 2 >= 0 else y0
        draw.rectangle((x0, ty, x0 + tw + 3, ty + th + 2), fill=colour)
        draw.text((x0 + 2, ty), tag, fill=(0, 0, 0), font=font)
    pc = obj.get("pixel_coords")
    if pc:
        x, y, r = pc[0] * scale, pc[1] * scale, 2 * scale
        draw.line((x - r, y, x + r, y), fill=colour, width=max(1, scale // 2))
        draw.line((x, y - r, x, y + r), fill=colour, width=max(1, scale // 2))
        if not box:
            draw.text((x + r + 1, y - r - 1), str(i), fill=colour, font=font)


def _legend(objects: list[dict], height: int, title: str, font, size: int):
    from PIL import Image, ImageDraw

    line, tag = size + 6, draw_width("00", font) + 4
    x_text = 14 + tag + size
    width = max([draw_width(_label(o), font) for o in objects] + [draw_width(title, font)])
    panel = Image.new("RGB", (width + x_text + 10, max(height, line * (len(objects) + 2))),
                      _PANEL_BG)
    d = ImageDraw.Draw(panel)
    d.text((8, 6), title, fill=_TEXT, font=font)
    for i, o in enumerate(objects):
        y = 6 + line * (i + 1) + line // 3
        d.rectangle((8, y, 8 + tag, y + size + 2), fill=_PALETTE[i % len(_PALETTE)])
        d.text((10, y), str(i), fill=(0, 0, 0), font=font)
        swatch = tuple(COLOR_RGB.get(o.get("color"), (128, 128, 128)))
        d.rectangle((12 + tag, y + 1, 10 + tag + size, y + size + 1), fill=swatch, outline=_TEXT)
        d.text((x_text, y), _label(o), fill=_TEXT, font=font)
    return panel


def draw_width(text: str, font) -> int:
    from PIL import Image, ImageDraw

    return int(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(text, font=font))


def draw_overlay(image: np.ndarray, scene: dict | None, *, scale: int = 2,
                 title: str = "", legend: bool = True):
    """A PIL image: ``image`` enlarged ``scale`` times with the scene's objects drawn on."""
    from PIL import Image, ImageDraw

    base = Image.fromarray(np.asarray(image, np.uint8)).convert("RGB")
    if scale != 1:
        base = base.resize((base.width * scale, base.height * scale), Image.Resampling.LANCZOS)
    objects = (scene or {}).get("objects", [])
    size = max(12, 6 * scale)
    font = _font(size)
    draw = ImageDraw.Draw(base)
    for i, obj in enumerate(objects):
        _draw_object(draw, i, obj, scale, font)
    if not legend:
        return base
    title = title or f"{len(objects)} objects"
    panel = _legend(objects, base.height, title, font, size)
    out = Image.new("RGB", (base.width + panel.width, max(base.height, panel.height)), _PANEL_BG)
    out.paste(base, (0, 0))
    out.paste(panel, (base.width, 0))
    return out


def show_image(world, split: str, index: int, *, scale: int = 2):
    """The overlay of image ``index`` of ``split`` in a :class:`~clevrlang.world.layout.World`."""
    image = world.load_image(split, index)
    scene = world.scene(split, index).raw if world.has_scenes(split) else None
    name = world.image_path(split, index).name
    title = f"{name}: {len(scene['objects'])} objects" if scene else f"{name} (no scene)"
    return draw_overlay(image, scene, scale=scale, title=title)

