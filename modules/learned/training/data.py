"""Question-answering data for training: a uint8 image stack, ground-truth programs, answers.

A :class:`QADataset` is what the trainer reads: a (N, H, W, 3) uint8 stack of images at the
model's input size, and per question the image it is about, its IR root and its answer.
It comes from a world made by ``clevr world make`` (:func:`from_world`) or from
:mod:`.toy` (hand-built programs on freshly rendered scenes, for tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from clevrlang.images import load_image
from clevrlang.language.errors import DataError
from clevrlang.language.ir import Node
from clevrlang.language.vocabulary import ANSWERS
from clevrlang.modules.learned.compiler import answer_kind, check
from clevrlang.modules.learned.modules import ANSWER_SETS, ANSWER_TYPES
from clevrlang.modules.learned.stem import as_uint8


@dataclass
class QADataset:
    """Images (N, H, W, 3) uint8 and questions ``(image index, root node, answer string)``."""

    images: np.ndarray
    image_ids: np.ndarray  # (Q,) int: the image of each question
    nodes: list[Node]
    answers: np.ndarray  # (Q,) int: index into vocabulary.ANSWERS
    name: str = "<memory>"
    scenes: list | None = field(default=None, repr=False)  # optional: scene of each image
    owners: np.ndarray | None = field(default=None, repr=False)  # (N, h, w) cell owners
    image_names: list | None = field(default=None, repr=False)  # file name of each image
    centres: list | None = field(default=None, repr=False)  # per image (n, 2) centre cells
    table: object = field(default=None, repr=False, compare=False)  # see program_table

    @classmethod
    def build(cls, images: Sequence[np.ndarray] | np.ndarray, questions: Sequence[tuple],
              size: tuple[int, int], name: str = "<memory>", scenes=None,
              owners=None) -> "QADataset":
        """From images and ``(image index, Program | Node, answer)`` triples; questions the
        learned back end cannot run (no module, answer not in ANSWERS) are an error."""
        imgs = images if isinstance(images, np.ndarray) and images.shape[1:3] == (size[1], size[0]) \
            else as_uint8(list(images), size)
        ids, nodes, answers = [], [], []
        for q, (image, program, answer) in enumerate(questions):
            node = program if isinstance(program, Node) else program.node
            why = check(node)
            if why is not None:
                raise DataError(f"question {q}: {why}", where=name)
            kind = answer_kind(node)
            if kind < 0 or str(answer) not in ANSWER_SETS[ANSWER_TYPES[kind]]:
                raise DataError(f"question {q}: answer {answer!r} is not a {node.type} answer "
                                f"of {node.label()}", where=name)
            if not 0 <= int(image) < len(imgs):
                raise DataError(f"question {q}: no image {image}", where=name)
            ids.append(int(image))
            nodes.append(node)
            answers.append(ANSWERS.index(str(answer)))
        return cls(imgs, np.asarray(ids, np.int64), nodes, np.asarray(answers, np.int64), name,
                   scenes, owners)

    def __len__(self) -> int:
        return len(self.nodes)

    def subset(self, questions: Sequence[int]) -> "QADataset":
        q = np.asarray(questions, np.int64)
        return QADataset(self.images, self.image_ids[q], [self.nodes[i] for i in q],
                         self.answers[q], self.name, self.scenes, self.owners,
                         self.image_names, self.centres,
                         None if self.table is None else self.table.subset(q))

    def program_table(self):
        """The questions' programs as arrays, built once (:mod:`..batching`): a batch's plan
        is then assembled by indexing instead of walking its programs."""
        if self.table is None:
            from clevrlang.modules.learned.batching import ProgramTable

            self.table = ProgramTable(self.nodes)
        return self.table

    def question_types(self) -> list[str]:
        return [n.op for n in self.nodes]


def load_images(paths: Sequence[Path], size: tuple[int, int], progress: bool = True) -> np.ndarray:
    """Decode and resize images into one (N, H, W, 3) uint8 stack."""
    from tqdm import tqdm

    out = np.empty((len(paths), size[1], size[0], 3), np.uint8)
    for i, p in enumerate(tqdm(paths, desc="images", unit="img", disable=not progress)):
        out[i] = as_uint8([load_image(p)], size)[0]
    return out


def from_files(questions_path, images_dir, size: tuple[int, int], limit: int | None = None,
               progress: bool = True) -> QADataset:
    """A dataset from a CLEVR questions file and its image folder."""
    from clevrlang.datafiles import load_questions

    questions = load_questions(questions_path)[:limit]
    names = sorted({q.image_filename for q in questions if q.image_filename})
    if not names:
        raise DataError("questions name no image_filename", where=str(questions_path))
    index = {n: i for i, n in enumerate(names)}
    images_dir = Path(images_dir)
    missing = [n for n in names if not (images_dir / n).exists()]
    if missing:
        raise DataError(f"{len(missing)} image(s) missing, e.g. {missing[0]}", where=str(images_dir))
    images = load_images([images_dir / n for n in names], size, progress)
    triples = [(index[q.image_filename], q.program, q.answer) for q in questions]
    data = QADataset.build(images, triples, size, name=str(questions_path))
    data.image_names = names
    return data


def from_world(root, split: str, size: tuple[int, int], limit: int | None = None,
               progress: bool = True, sets: bool = False) -> QADataset:
    """The ``split`` of a world made by ``clevr world make`` (read through ``open_world``);
    with ``sets``, also its scenes and each feature cell's owner (for :mod:`.auxiliary`).
    Cached beside the world after the first load (:mod:`.world_cache`)."""
    from clevrlang.modules.learned.training.world_cache import WorldCache
    from clevrlang.world.layout import open_world

    world = open_world(root)
    if not world.has_questions(split):
        raise DataError(f"split {split!r} has no questions file", where=str(world.root),
                        hint="make one with `clevr world make DIR --split S --images N`")
    cache = WorldCache(world, split, size, limit)
    data = cache.load(QADataset, sets)
    if data is not None:
        return data
    data = cache.load(QADataset, False) if sets else None  # cached before, without the sets
    if data is None:
        data = from_files(world.questions_path(split), world.root / "images" / split, size,
                          limit, progress=progress)
    if sets:
        attach_sets(data, world, split, size, progress)
    cache.save(data, sets)
    return data


def world_image_size(world, split: str) -> tuple[int, int]:
    """(width, height) of the split's first image."""
    from PIL import Image

    with Image.open(world.image_path(split, 0)) as im:
        return im.size


def attach_sets(data: QADataset, world, split: str, size: tuple[int, int], progress: bool) -> None:
    """Give ``data`` its scenes, cell owners (instance masks cut into feature cells) and the
    cell of each object's centre."""
    from tqdm import tqdm

    from clevrlang.modules.learned.stem import STRIDE
    from clevrlang.modules.learned.training.auxiliary import cell_owners, centre_cells

    by_name = {s.image_filename: s for s in world.scenes(split)}
    missing = [n for n in data.image_names if n not in by_name]
    if missing:
        raise DataError(f"no scene for image {missing[0]}", where=str(world.scenes_path(split)))
    scenes = [by_name[n] for n in data.image_names]
    grid = (size[1] // STRIDE, size[0] // STRIDE)
    owners = np.stack([cell_owners(world.load_mask(split, s.raw["image_index"]), grid)
                       for s in tqdm(scenes, desc="masks", unit="img", disable=not progress)])
    data.scenes, data.owners = scenes, owners
    image_size = world_image_size(world, split)
    data.centres = [centre_cells(s.raw["objects"], image_size, grid) for s in scenes]
