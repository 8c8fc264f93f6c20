"""A world's training data cached beside it, so that it is ready in seconds.

Building a :class:`~.data.QADataset` from a world reads the questions JSON, converts and
checks every program, decodes and resizes every image, walks the programs into a
:class:`~clevrlang.modules.learned.batching.ProgramTable` and, for set supervision, runs each
program on its scene and cuts the masks into cells: linear in the split, ~110 s for 12,000
images. The first load writes the results to ``<world>/.cache/`` (each file atomically):

* ``learned_<split>_<W>x<H>_<key>_images.npy`` -- the resized (N, H, W, 3) uint8 images,
  memory-mapped when read (training holds only the pages it touches);
* ``..._<key>_questions.npz`` -- image and answer per question, the image names, and the
  program table: its arrays and its nodes as (function, values, inputs) rows;
* ``..._<skey>_sets.npz`` -- with set supervision, each set node's objects, the cells'
  owners and each object's centre cell.

``key`` digests what the data depend on -- the split, image size, ``limit``, the questions
file's and every image file's size and mtime -- and ``skey`` adds the scenes file and the
masks, so a changed world has new names and is built again (older files are removed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from clevrlang.atomic import replacing
from clevrlang.language.ir import Node
from clevrlang.modules.learned.batching import ProgramTable
from clevrlang.modules.learned.modules import SCENE

log = logging.getLogger(__name__)
VERSION = 1  # of the layout below: a new one rebuilds every cache


def _stat(path: Path) -> list:
    try:
        st = path.stat()
    except OSError:
        return [path.name, None]
    return [path.name, st.st_size, st.st_mtime_ns]


def _listing(folder: Path) -> list:
    """Name, size and mtime of every file in ``folder``, sorted (one scandir: ~10 ms for
    12,000 files)."""
    try:
        with os.scandir(folder) as it:
            return sorted([e.name, s.st_size, s.st_mtime_ns]
                          for e in it if e.is_file() for s in [e.stat()])
    except OSError:
        return []


def _digest(parts: list) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


class WorldCache:
    """The cache files of one (world, split, image size, limit)."""

    def __init__(self, world, split: str, size: tuple[int, int], limit: int | None):
        self.world, self.split = world, split
        self.folder = Path(world.root) / ".cache"
        self.prefix = f"learned_{split}_{size[0]}x{size[1]}"
        base = [VERSION, split, list(size), limit, _stat(world.questions_path(split)),
                _listing(Path(world.root) / "images" / split)]
        self.key = _digest(base)
        self.set_key = _digest(base + [_stat(world.scenes_path(split)),
                                       _listing(Path(world.root) / "masks" / split)])

    def _path(self, key: str, what: str) -> Path:
        return self.folder / f"{self.prefix}_{key}_{what}"

    # -- reading ---------------------------------------------------------------------------
    def load(self, dataset: type, sets: bool):
        """The cached ``dataset`` (:class:`.data.QADataset`, which imports this module;
        ``sets``: with its scenes, owners, centres and object sets), or None when a file
        is missing or unreadable."""
        images, questions = self._path(self.key, "images.npy"), self._path(self.key, "questions.npz")
        extra = self._path(self.set_key, "sets.npz")
        if not (images.is_file() and questions.is_file()) or sets and not extra.is_file():
            return None
        try:
            stack = np.load(images, mmap_mode="r", allow_pickle=False)
            with np.load(questions, allow_pickle=False) as z:
                q = {k: z[k] for k in z.files}
            extras = None
            if sets:
                with np.load(extra, allow_pickle=False) as z:
                    extras = {k: z[k] for k in z.files}
            nodes = decode_nodes(q["labels"], q["node_label"], q["inputs"], q["arity"])
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
            log.warning("building again the unreadable cache %s: %s", questions, e)
            for p in (images, questions, extra):  # a killed writer never leaves these
                p.unlink(missing_ok=True)
            return None
        roots = [nodes[r] for r in q["roots"].tolist()]
        names = q["names"].tolist()
        data = dataset(stack, q["image_ids"], roots, q["answers"],
                         str(self.world.questions_path(self.split)))
        data.image_names = names
        data.table = ProgramTable.restore(q, nodes, roots,
                                          None if extras is None else extras["bits"])
        if extras is not None:
            data.scenes = LazyScenes(self.world, self.split, names)
            data.owners = extras["owners"]
            counts, cells = extras["centre_counts"], extras["centres"]
            data.centres = [cells[i, :n] for i, n in enumerate(counts.tolist())]
        return data

    # -- writing ---------------------------------------------------------------------------
    def save(self, data, sets: bool) -> None:
        """Write what :meth:`load` reads (``sets``: also the set supervision, computing the
        object sets as the trainer would). A read-only world still trains: a warning."""
        table = data.program_table()
        labels, node_label = encode_nodes(table.nodes)
        try:
            if not (self._path(self.key, "images.npy").is_file()
                    and self._path(self.key, "questions.npz").is_file()):
                with replacing(self._path(self.key, "images.npy")) as tmp, open(tmp, "wb") as f:
                    np.save(f, np.ascontiguousarray(data.images))
                with replacing(self._path(self.key, "questions.npz")) as tmp, open(tmp, "wb") as f:
                    np.savez(f, image_ids=data.image_ids, answers=data.answers,
                             names=np.asarray(data.image_names, str), labels=labels,
                             node_label=node_label, **table.arrays())
            if sets:
                if table.bits is None:
                    table.attach_sets(data.scenes, data.image_ids)
                counts = np.asarray([len(c) for c in data.centres], np.int64)
                cells = np.full((len(counts), int(counts.max(initial=0)), 2), -1, np.int64)
                for i, c in enumerate(data.centres):
                    cells[i, :len(c)] = c
                with replacing(self._path(self.set_key, "sets.npz")) as tmp, open(tmp, "wb") as f:
                    np.savez(f, bits=table.bits, owners=data.owners, centres=cells,
                             centre_counts=counts)
        except OSError as e:
            log.warning("could not cache the dataset in %s: %s", self.folder, e)
            return
        self._remove_stale()

    def _remove_stale(self) -> None:
        keep = {self._path(self.key, "images.npy").name, self._path(self.key, "questions.npz").name,
                self._path(self.set_key, "sets.npz").name}
        for p in self.folder.glob(f"{self.prefix}_*_*"):
            if p.name not in keep and p.suffix in (".npy", ".npz"):
                p.unlink(missing_ok=True)
        (self.folder / f"{self.prefix}.npy").unlink(missing_ok=True)  # before the keys: unkeyed


def encode_nodes(nodes: Sequence[Node]) -> tuple[np.ndarray, np.ndarray]:
    """Each node's (function, values) as an index into a few distinct JSON labels (inputs
    and arity are the table's own arrays)."""
    index: dict[tuple, int] = {}
    labels: list[str] = []
    node_label = np.empty(len(nodes), np.int32)
    for i, n in enumerate(nodes):
        j = index.get((n.op, n.values))
        if j is None:
            j = index[(n.op, n.values)] = len(labels)
            labels.append(json.dumps([n.op, list(n.values)]))
        node_label[i] = j
    return np.asarray(labels, str), node_label


def decode_nodes(labels, node_label, inputs, arity) -> list[Node]:
    """The table's nodes again (inputs come first; -1 is the scene): interned, so each is
    the node a parsed program would have."""
    spec = [(op, tuple(values)) for op, values in map(json.loads, labels.tolist())]
    scene = Node.make(SCENE)
    built: list[Node] = []
    make = Node.make
    for lab, ins, a in zip(node_label.tolist(), inputs.tolist(), arity.tolist()):
        op, values = spec[lab]
        built.append(make(op, values, tuple(scene if j < 0 else built[j] for j in ins[:a])))
    return built


class LazyScenes(Sequence):
    """A split's scenes in the dataset's image order, read on first use: with the object
    sets cached, training never reads them."""

    def __init__(self, world, split: str, names: list[str]):
        self._args = (world, split, names)
        self._items: list | None = None

    def _get(self) -> list:
        if self._items is None:
            world, split, names = self._args
            by_name = {s.image_filename: s for s in world.scenes(split)}
            self._items = [by_name[n] for n in names]
        return self._items

    def __getitem__(self, i):
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._args[2])
