"""Codec-degraded copies of the engineered back end's training images, as files.

A back end trained on clean renders only reads colour from JPEG's blocks and ringing badly
and takes its artefacts for objects (through JPEG at 1,280 B: detection precision 70 %,
colour 80 %, 38 % of the answers right). Each training image therefore gets one copy that
went through a codec and budget drawn by :class:`~clevrlang.compress.degrade.Degradation`;
the clean image stays in the training set beside it. A copy already written is not encoded
again (AVIF's per-image budget search takes seconds), so a resumed run finds them. Copies
are PNG files named ``<index>-<image>-<codec>-<bytes>B.png`` under ``folder``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from clevrlang.compress.degrade import Degradation, degrade
from clevrlang.modules.engineered.training.samples import Sample

log = logging.getLogger(__name__)



def degraded_copies(samples: list[Sample], folder: Path, spec: Degradation, *, seed: int,
                    stream: int, progress: bool = False) -> list[Sample]:
    """One degraded copy of each sample (made now, or found in ``folder`` from before)."""
    from tqdm.auto import tqdm

    from clevrlang.world.layout import write_png

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made = {p.name[:6]: p for p in folder.glob("*.png")}
    out, counts = [], {}
    for k, s in enumerate(tqdm(samples, desc="degrade", unit="img", disable=not progress)):
        codec, budget = spec.draw(seed, stream, k)
        path = made.get(f"{k:06d}")
        if path is None or f"-{codec}-" not in path.name:
            image, nbytes = degrade(s.image(), codec, budget)
            path = write_png(folder / f"{k:06d}-{s.name}-{codec}-{nbytes}B.png", image)
        out.append(Sample(s.scene, path=path))
        counts[codec] = counts.get(codec, 0) + 1
    log.info("degraded copies in %s: %s", folder, counts)
    return out


def summary(copies: list[Sample]) -> dict:
    """Per codec: how many copies, and their mean bytes (read from the file names)."""
    sizes: dict[str, list[int]] = {}
    for s in copies:
        _, _, codec, nbytes = s.path.stem.rsplit("-", 3)
        sizes.setdefault(codec, []).append(int(nbytes[:-1]))
    return {c: {"images": len(v), "mean_bytes": round(float(np.mean(v)))}
            for c, v in sorted(sizes.items())}
