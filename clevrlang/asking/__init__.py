"""Ask in English: question text -> a typed program (the front half of Johnson et al. 2017).

A sequence-to-sequence model writes the program's tokens under a type mask
(:mod:`~clevrlang.asking.grammar`), and every program it returns has been through the
checker like any typed-in text: it prints as canonical ``.clv`` the user can edit and keep.

>>> print(ask("How many red cubes are there?").to_clv())
scene() |> filter_color[red] |> filter_shape[cube] |> count
>>> [g.program.to_clv() for g in ask_top("Is there a big ball?", 2)][0]
'scene() |> filter_size[large] |> filter_shape[sphere] |> exist'

Torch is imported on first use, so ``import clevrlang`` stays light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

from clevrlang.language.program import Program

#: A best guess whose probability is below this is reported as unsure.
LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Guess:
    """One candidate program and its log-probability under the model."""

    program: Program
    score: float

    @property
    def probability(self) -> float:
        return math.exp(self.score)

    def __repr__(self) -> str:
        return f"Guess({self.score:.3f}, {self.program.to_clv()!r})"


def default_model_path() -> str:
    return str(resources.files("clevrlang.asking").joinpath("defaults", "model.safetensors"))


class ProgramGenerator:
    """A loaded model: ``ask`` one question, ``top`` k, ``batch`` many at once."""

    def __init__(self, path: str | None = None, device: str = "cpu"):
        from clevrlang.asking.model import load

        self.path = path or default_model_path()
        self.model, self.info = load(self.path, device)

    def batch(self, texts: list[str], k: int = 1, unknown: bool = False,
              check: bool = True) -> list[list[Guess]]:
        """The ``k`` best programs of each question, best first. ``check`` re-reads each
        through the checker from its ``.clv`` text (the decoder's guarantee, verified)."""
        from clevrlang.asking.decode import beam_search
        from clevrlang.asking.grammar import program_of
        from clevrlang.asking.tokens import encode

        if not texts:
            return []
        words = [encode(t, unknown) for t in texts]
        out = []
        for cands in beam_search(self.model, words, k):
            guesses = []
            for c in cands:
                program = program_of(c.tokens)
                if check:
                    program = _checked(program)
                guesses.append(Guess(program, c.score))
            out.append(guesses)
        return out

    def top(self, text: str, k: int = 5, unknown: bool = False) -> list[Guess]:
        return self.batch([text], k, unknown)[0]

    def ask(self, text: str, unknown: bool = False) -> Program:
        return self.top(text, 1, unknown)[0].program


def _checked(program: Program) -> Program:
    from clevrlang.language.program import parse

    checked = parse(program.to_clv(), "<generated>")
    assert checked.node is program.node, "the checker read a generated program differently"
    return checked


@cache
def default_generator() -> ProgramGenerator:
    return ProgramGenerator()


def ask(text: str, unknown: bool = False) -> Program:
    """The program the default model reads in ``text`` (checked; ``.to_clv()`` prints it).

    An unknown word is a UsageError naming it with did-you-mean suggestions, unless
    ``unknown`` lets the model guess anyway.
    """
    return default_generator().ask(text, unknown)


def ask_top(text: str, k: int = 5, unknown: bool = False) -> list[Guess]:
    """The ``k`` best programs for ``text`` with their log-probabilities, best first."""
    return default_generator().top(text, k, unknown)


def predict_questions(questions: list, generator: ProgramGenerator | None = None,
                      batch: int = 1024, progress: bool = False) -> tuple[list, int]:
    """The questions with their programs replaced by the generator's reading of their text
    (``clevr eval --programs predicted``), and how many match the given program exactly.

    Each copy keeps its raw record, so its question type (the table's column) and answer
    are still the file's.
    """
    from clevrlang.datafiles import Question

    gen = generator or default_generator()
    chunks = range(0, len(questions), batch)
    if progress:
        from tqdm import tqdm

        chunks = tqdm(chunks, desc="ask", unit="batch")
    out, exact = [], 0
    for start in chunks:
        part = questions[start:start + batch]
        for q, (best, *_) in zip(part, gen.batch([q.text for q in part], unknown=True)):
            copy = Question(q.raw, q.index, q.where, q.info)
            copy.__dict__["program"] = best.program  # seeds the cached_property
            given = q.program
            exact += given is not None and given.node is best.program.node
            out.append(copy)
    return out, exact
