"""CLEVR questions for a scene: English text, the program and its answer, over 90 families.

The rules are CLEVR's generator's (``question_generation/generate_questions.py``): per scene,
families are tried in order of how few questions each has so far (ties in family order), each
instantiated at most once by a depth-first search with partial execution
(:mod:`clevrlang.world.search`), until ``k`` families gave a question. An instance is
rejected when its answer is already too common for its family (:class:`BalanceState`: its
count exceeds 1.1 x the second-highest answer count, or 5 x the median count, the median
taken as at least 5). Answers are checked against the batched symbolic executor.

Determinism contract (what a world maker relies on): the questions of a scene depend only on
the generator's ``seed``, the scene (its ``image_index`` seeds the scene's random stream) and
the :class:`BalanceState` passed in. CLEVR resets the balance every 250 scenes; we reset it
at every ``image_index`` divisible by ``reset_every`` (250), so the scenes of block
``image_index // 250`` are generated in order from a fresh state. A shard or a resumed run
therefore starts at a block boundary, or restores the state saved after its last scene
(``BalanceState.to_json()`` / ``from_json``). :meth:`QuestionGenerator.generate_many` does
this for a list of scenes.

>>> from clevrlang.world.scenes import make_scene
>>> gen = QuestionGenerator(seed=0)
>>> qs = gen.generate(make_scene(1, 0), k=3, balance=BalanceState())
>>> len(qs), {"question", "program", "answer", "question_family_index"} <= set(qs[0])
(3, True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from clevrlang.language.errors import DataError, ExecutionError
from clevrlang.language.ir import Node
from clevrlang.language.vocabulary import render_value
from clevrlang.scene import Scene
from clevrlang.world.search import Search, SceneIndex
from clevrlang.world.templates import Template, load_templates, render_text

RESET_EVERY = 250  # CLEVR's --reset_counts_every
SECOND_FACTOR = 1.1  # an answer may not exceed 1.1 x the second most common count ...
MEDIAN_FACTOR = 5.0  # ... nor 5 x the median count
MIN_MEDIAN = 5


@dataclass
class BalanceState:
    """Per family: how many questions it gave, and how often each answer.

    >>> b = BalanceState(); b.record(0, "no"); sorted(b.allowed(0))
    ['yes']
    >>> BalanceState.from_json(b.to_json()) == b
    True
    """

    template_counts: list[int] = field(default_factory=list)
    answer_counts: list[dict[str, int]] = field(default_factory=list)

    def __post_init__(self):
        if not self.template_counts and not self.answer_counts:
            self.reset()

    def reset(self) -> None:
        """Back to zero counts (CLEVR does this every 250 scenes)."""
        templates = load_templates()
        self.template_counts = [0] * len(templates)
        self.answer_counts = [dict.fromkeys(t.answers, 0) for t in templates]

    def allowed(self, family: int) -> set[str]:
        """The answers the family may still give (CLEVR's rejection rule)."""
        counts = self.answer_counts[family]
        ordered = sorted(counts.values())
        second = ordered[-2]
        median = max(ordered[len(ordered) // 2], MIN_MEDIAN)
        return {a for a, c in counts.items()
                if not (c > SECOND_FACTOR * second or c > MEDIAN_FACTOR * median)}

    def record(self, family: int, answer: str) -> None:
        self.template_counts[family] += 1
        self.answer_counts[family][answer] += 1

    def to_json(self) -> dict:
        return {"template_counts": list(self.template_counts),
                "answer_counts": [dict(c) for c in self.answer_counts]}

    @classmethod
    def from_json(cls, data: dict) -> "BalanceState":
        try:
            state = cls([int(c) for c in data["template_counts"]],
                        [{str(a): int(c) for a, c in d.items()} for d in data["answer_counts"]])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise DataError(f"not a question balance state: {e}") from None
        fresh = cls()
        if len(state.template_counts) != len(fresh.template_counts) or \
                [set(c) for c in state.answer_counts] != [set(c) for c in fresh.answer_counts]:
            raise DataError("question balance state does not match CLEVR's 90 families")
        return state


class QuestionGenerator:
    """Questions for scenes, deterministic for ``seed``.

    ``check`` re-answers every question with the batched symbolic executor and raises if the
    search's answer differs (a bug guard; it costs a fraction of a millisecond per scene).
    """

    def __init__(self, seed: int = 0, *, templates: Sequence[Template] | None = None,
                 check: bool = True):
        self.seed = seed
        self.templates = tuple(templates) if templates is not None else load_templates()
        self.check = check

    def rng_for(self, scene: dict | Scene) -> random.Random:
        """The scene's own random stream: a function of the seed and its image index."""
        return random.Random(f"clevrlang.questions/{self.seed}/{_image_index(_raw(scene))}")

    def generate(self, scene: dict | Scene, k: int = 10, balance: BalanceState | None = None,
                 rng: random.Random | None = None, first_index: int = 0) -> list[dict]:
        """Up to ``k`` questions (one per family) for ``scene``, updating ``balance``.

        Questions are dicts in CLEVR v1.0's released form plus ``template_filename``;
        ``question_index`` counts from ``first_index``.
        """
        raw = _raw(scene)
        scene = scene if isinstance(scene, Scene) else Scene(raw, _image_index(raw))
        balance = balance if balance is not None else BalanceState()
        rng = rng if rng is not None else self.rng_for(scene)
        index = SceneIndex(scene)
        order = sorted(range(len(self.templates)), key=balance.template_counts.__getitem__)
        found: list[tuple[Template, Search]] = []
        for family in order:
            if len(found) >= k:
                break
            template = self.templates[family]
            allowed = balance.allowed(family)
            if not allowed:
                continue
            search = Search(template, index, allowed, rng)
            if search.run():
                balance.record(family, render_value(search.out[-1]))
                found.append((template, search))
        questions = [self._question(t, s, raw, rng, first_index + i)
                     for i, (t, s) in enumerate(found)]
        if self.check and questions:
            self._check(questions, scene)
        return questions

    def generate_many(self, scenes: Iterable[dict], k: int = 10,
                      reset_every: int = RESET_EVERY, balance: BalanceState | None = None,
                      first_index: int = 0) -> list[dict]:
        """Questions for scenes in image-index order, resetting the balance at each block.

        ``balance`` is the state to continue from (a resumed run mid-block); it is updated.
        """
        balance = balance if balance is not None else BalanceState()
        out: list[dict] = []
        for scene in scenes:
            if _image_index(_raw(scene)) % reset_every == 0:
                balance.reset()
            out += self.generate(scene, k, balance, first_index=first_index + len(out))
        return out

    def _question(self, template: Template, search: Search, raw: dict, rng, index: int) -> dict:
        text = render_text(rng.choice(template.text), search.vals(), rng)
        return {
            "question": text,
            "program": search.program(),
            "answer": render_value(search.out[-1]),
            "question_family_index": template.family,
            "template_filename": template.filename,
            "image_index": _image_index(raw),
            "image_filename": raw.get("image_filename", ""),
            "split": raw.get("split", ""),
            "question_index": index,
        }

    def _check(self, questions: list[dict], scene: Scene) -> None:
        from clevrlang.backends import get_backend

        roots = [_ir(q["program"]) for q in questions]
        answers = get_backend("symbolic").answer(roots, [scene] * len(roots), errors="return")
        for q, a in zip(questions, answers):
            if a != q["answer"]:
                raise ExecutionError(f"question generator says {q['answer']!r} but the symbolic "
                                     f"executor says {a!r} for {q['question']!r}")


def _ir(program: list[dict]) -> Node:
    built: list[Node] = []
    for n in program:
        built.append(Node.make(n["function"], tuple(n["value_inputs"]),
                               tuple(built[i] for i in n["inputs"])))
    return built[-1]


def _raw(scene: dict | Scene) -> dict:
    return scene.raw if isinstance(scene, Scene) else scene


def _image_index(raw: dict) -> int:
    if "image_index" in raw:
        return int(raw["image_index"])
    name = raw.get("image_filename", "")
    try:  # CLEVR_val_000123.png
        return int(name.rsplit(".", 1)[0].rsplit("_", 1)[-1])
    except ValueError:
        raise DataError(f"scene has no image_index and its image_filename {name!r} "
                        "does not end in one") from None
