"""Joining shards (``clevr world merge``): folders made with ``clevr world make --shard K/N``
become the files of one whole run, images and masks linked (or copied) rather than rendered
again, the released scenes and questions assembled from the shards' parts.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path

from clevrlang.language.errors import DataError, UsageError
from clevrlang.world import layout
from clevrlang.world.make import (PARTS_FORMAT, MakeResult, Parts, Shard, WorldSpec, assemble,
                                  option_differences, progress_bar)


def _shards_of(split: str, dirs: list[Path]) -> tuple[WorldSpec, list[tuple[Path, Shard]]]:
    found = []
    for d in dirs:
        m = Parts(d, split).manifest()
        if m is None:
            raise DataError(f"holds no shard of split {split!r}", where=str(d))
        if m.get("format") != PARTS_FORMAT or not m.get("shard"):
            raise DataError(f"split {split!r} here is not a shard", where=str(d),
                            hint="merge joins folders made with `clevr world make --shard K/N`")
        found.append((d, WorldSpec(**m["spec"]), Shard(*m["shard"])))
    spec, n = found[0][1], found[0][2].n
    for d, s, sh in found:
        if s != spec or sh.n != n:
            diff = option_differences({"spec": asdict(s), "shard": [sh.k, sh.n]},
                                {"spec": asdict(spec), "shard": [sh.k, n]})
            raise UsageError(f"{d} was made with other options than {found[0][0]}: {diff}")
        missing = [b for b in sh.blocks(s) if not Parts(d, split).done(b)]
        if missing:
            raise DataError(f"shard {sh.k}/{sh.n} of split {split!r} is unfinished "
                            f"({len(missing)} blocks to go)", where=str(d),
                            hint="re-run its `clevr world make ... --shard` command first")
    ks = sorted(sh.k for _, _, sh in found)
    if ks != list(range(n)):
        lacking = sorted(set(range(n)) - set(ks))
        raise UsageError(f"split {split!r}: expected shards 0..{n - 1} once each, got {ks}"
                         + (f" (missing {lacking})" if lacking else ""))
    return spec, [(d, sh) for d, _, sh in found]


def merge_worlds(out: str | os.PathLike, shard_dirs: list, *, progress: bool = True
                 ) -> list[MakeResult]:
    """Join the shards in ``shard_dirs`` into ``out``: the same files as one whole run."""
    start, out = time.perf_counter(), Path(out)
    dirs = [Path(d) for d in shard_dirs]
    if not dirs:
        raise UsageError("merge needs at least one shard folder")
    if any(d.resolve() == out.resolve() for d in dirs):
        raise UsageError("merge writes a new folder; OUT must not be one of the shards")
    splits = sorted({p.parent.name for d in dirs for p in (d / ".parts").glob("*/manifest.json")})
    if not splits:
        raise DataError("no shards found (no .parts/<split>/manifest.json)", where=str(dirs[0]))
    results = []
    for split in splits:
        spec, shards = _shards_of(split, dirs)
        parts = Parts(out, split)
        parts.dir.mkdir(parents=True, exist_ok=True)
        parts.claim(spec, Shard())
        layout.remove_temp_files(parts.folders())
        with progress_bar(spec.images, 0, f"merge {split}", progress) as bar:
            for d, sh in shards:
                for b in sh.blocks(spec):
                    for i in spec.block_images(b):
                        for rel in (layout.mask_relpath(split, i), layout.image_relpath(split, i)):
                            layout.link_or_copy(d / rel, out / rel)
                        bar.update(1)
                    layout.link_or_copy(Parts(d, split).path(b), parts.path(b))
        n = assemble(out, spec)
        parts.remove()
        results.append(MakeResult(out, split, spec.images, 0, n, time.perf_counter() - start))
    return results
