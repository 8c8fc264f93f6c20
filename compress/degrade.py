"""Degraded images: an image through a codec drawn at random within a byte range, so a back
end can train on what compressed images look like (``clevr train engineered --degrade`` and
``clevr train learned --degrade``).

A budget below the codec's smallest code gives that smallest code. Draws depend only on
``(seed, stream, index)``, so a resumed run makes the same copies.

>>> spec = Degradation.parse("jpeg,webp", "300-3000")
>>> spec.codecs, spec.low, spec.high
(('jpeg', 'webp'), 300, 3000)
>>> spec.draw(seed=0, stream=0, index=5) == spec.draw(seed=0, stream=0, index=5)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import click
import numpy as np

from clevrlang.language.errors import UsageError

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
        from clevrlang.compress.registry import ALL_CODECS

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
    from clevrlang.compress.registry import get_codec

    c = get_codec(codec)
    budget = max(budget, c.min_bytes(image))
    code = c.encode(image, budget)
    return c.decode(code), int(code.nbytes)


def degrade_options(f):
    """``--degrade CODECS`` and ``--degrade-bytes LOW-HIGH``: a back end also trains on codec
    copies of its images; :func:`degradation` reads them (one spelling for every trainer)."""
    f = click.option("--degrade-bytes", default=None, metavar="LOW-HIGH",
                     help="Byte budgets of the degraded copies, drawn log-uniformly "
                          "[default: 300-3000].")(f)
    return click.option("--degrade", default=None, metavar="CODECS",
                        help="Also train on a copy of each image through one of these codecs "
                             "(comma separated, e.g. jpeg,webp,avif,task), drawn at random.")(f)


def degradation(degrade: str | None, degrade_bytes: str | None):
    """The :class:`Degradation` of :func:`degrade_options`, or None."""
    if degrade_bytes is not None and degrade is None:
        raise UsageError("--degrade-bytes sets the budgets of --degrade, which is not given")
    return None if degrade is None else Degradation.parse(degrade, degrade_bytes)
