"""Pictures of what the engineered back end perceived: boxes with predicted attributes.

>>> import tempfile
>>> seen = {"objects": [{"bbox": [10, 8, 30, 28], "size": "large", "color": "red",
...                      "material": "metal", "shape": "cube", "score": 0.93}]}
>>> out = draw_scene(np.zeros((48, 64, 3), np.uint8), seen, f"{tempfile.mkdtemp()}/seen.png")
>>> out.name, out.stat().st_size > 0
('seen.png', True)
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from clevrlang.language.vocabulary import ATTRIBUTES, COLOR_RGB


def _label(i: int, obj: dict) -> str:
    words = " ".join(str(obj.get(a, "?")) for a in ATTRIBUTES)
    score = obj.get("score")
    return f"#{i} {words}" + (f" {score:.2f}" if isinstance(score, (int, float)) else "")


def draw_scene(image: np.ndarray, scene: dict, path: str | os.PathLike, scale: int = 2) -> Path:
    """Write ``image`` (enlarged ``scale`` times) with each object's box and label as a PNG."""
    from PIL import Image, ImageDraw, ImageFont

    from clevrlang.atomic import write_atomic

    im = Image.fromarray(np.asarray(image)[..., :3]).convert("RGB")
    im = im.resize((im.width * scale, im.height * scale), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    for i, obj in enumerate(scene.get("objects", [])):
        box = obj.get("bbox")
        if not box:
            continue
        x0, y0, x1, y1 = (float(v) * scale for v in box)
        colour = tuple(COLOR_RGB.get(obj.get("color"), (255, 255, 255)))
        draw.rectangle([x0, y0, x1, y1], outline=colour, width=2)
        text = _label(i, obj)
        tx, ty = x0, max(0.0, y0 - 12)
        bbox = draw.textbbox((tx, ty), text, font=font)
        draw.rectangle(bbox, fill=(0, 0, 0))
        draw.text((tx, ty), text, fill=colour, font=font)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return write_atomic(Path(path), buf.getvalue())
