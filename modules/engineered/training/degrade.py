"""Codec-degraded copies of training images, so the back end learns to read compressed ones.

A back end trained on clean renders only reads colour from JPEG's blocks and ringing badly
and takes its artefacts for objects (through JPEG at 1,280 B: detection precision 70 %,
colour 80 %, 38 % of the answers right). Each training image therefore gets one copy that
went through a codec drawn at random from ``codecs`` at a byte budget drawn log-uniformly
from ``[low, high]`` (a budget below the codec's smallest code gives that smallest code);
the clean image stays in the training set beside it.

Draws depend only on ``(seed, stream, index)``, so a resumed run makes the same copies, and
a copy already written is not encoded again (AVIF's per-image budget search takes seconds).
Copies are PNG files named ``<index>-<image>-<codec>-<bytes>B.png`` under ``folder``.

>>> spec = Degradation.parse("jpeg,webp", "300-3000")
>>> spec.codecs, spec.low, spec.high
(('jpeg', 'webp'), 300, 3000)
>>> spec.draw(seed=0, stream=0, index=5) == spec.draw(seed=0, stream=0, index=5)
True
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clevrlang.language.errors import UsageError
from clevrlang.modules.engineered.training.samples import Sample

log = logging.getLogger(__name__)
DEFAULT_BYTES = (300, 3000)


@dataclass(frozen=True)
class Degradation:
    """Which codecs, and which byte budgets, the degraded copies are made with."""

    codecs: tuple[str, ...]
    low: int = DEFAULT_BYTES[0]
    high: int = DEFAULT_BYTES[1]

    @classmethod
    def parse(cls, codecs: str, budgets: str | None = None) -> Degradation:
        """From the command line's ``jpeg,webp,...`` and ``LOW-HIGH`` (bytes)."""
        from clevrlang.compress import ALL_CODECS

        names = tuple(c.strip() for c in codecs.split(",") if c.strip())
        if not names:
            raise UsageError("--degrade needs at least one codec", hint="e.g. --degrade jpeg,avif")
        unknown = [c for c in names if c not in ALL_CODECS]
        if unknown:
            raise UsageError(f"unknown codec {unknown[0]!r} in --degrade",
                             hint=f"codecs: {', '.join(ALL_CODECS)}")
        low, high = DEFAULT_BYTES
        if budgets is not None:
            parts = budgets.split("-")
            if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
                raise UsageError(f"--degrade-bytes takes LOW-HIGH or N bytes, not {budgets!r}",
                                 hint="e.g. --degrade-bytes 300-3000")
            low, high = int(parts[0]), int(parts[-1])
            if not 0 < low <= high:
                raise UsageError(f"--degrade-bytes {budgets}: need 0 < LOW <= HIGH")
        return cls(names, low, high)

    def settings(self) -> dict:
        """What a resumed run must share with the run it continues."""
        return {"codecs": list(self.codecs), "bytes": [self.low, self.high]}

    def draw(self, seed: int, stream: int, index: int) -> tuple[str, int]:
        """The codec and byte budget of image ``index`` of ``stream`` (train 0, held-out 1)."""
        rng = np.random.default_rng([seed, stream, index])
        codec = self.codecs[int(rng.integers(len(self.codecs)))]
        budget = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return codec, int(round(budget))


def degrade(image: np.ndarray, codec: str, budget: int) -> tuple[np.ndarray, int]:
    """``image`` through ``codec`` within ``budget`` bytes (or its smallest code if that is
    larger); the decoded image and the bytes its code took."""
    from clevrlang.compress import get_codec

    c = get_codec(codec)
    budget = max(budget, c.min_bytes(image))
    code = c.encode(image, budget)
    return c.decode(code), int(code.nbytes)


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
