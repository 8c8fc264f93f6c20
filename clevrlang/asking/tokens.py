"""Question text -> word ids: lower-cased, punctuation split off, CLEVR's synonyms folded.

The words known are read from CLEVR's own templates, the vocabulary's attribute values and
CLEVR's synonyms, not from a training set, so a model's input vocabulary is fixed by the
language. A synonym is folded into the word it stands for (``ball`` and ``balls`` read as
``sphere`` and ``spheres``), so a model never needs to have seen a synonym in training.

>>> words("How many BIG balls are there?")
['how', 'many', 'large', 'spheres', 'are', 'there', '?']
>>> try:
...     words("How many spheers are there?")
... except ClevrError as e:
...     print(e.message, "|", e.hint)
unknown word 'spheers' | did you mean 'spheres' or 'sphere'? (`clevr ask --guess`, or `??` in the REPL, reads it as unknown and guesses anyway)
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from importlib import resources

from clevrlang.language.errors import ClevrError, Source, Span, UsageError, shown
from clevrlang.language.vocabulary import ENUMS, SYNONYMS, Type

PAD, START, END, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, START, END, UNK)
#: Longest question read, in words (CLEVR's longest is under 50).
MAX_WORDS = 120

_WORD = re.compile(r"\w+|[^\w\s]")
_SLOT = re.compile(r"<[A-Z]+\d?>s?")
#: Punctuation CLEVR never writes but people do; it carries nothing, so it is skipped.
_SKIPPED = frozenset(".,!\"'")


@cache
def _folding() -> dict[str, str]:
    """Every synonym word (and its plural) -> the word it stands for."""
    fold = {}
    for canonical, spellings in SYNONYMS.items():
        for spelling in spellings:
            if " " not in spelling and spelling != canonical:
                fold[spelling] = canonical
                fold[spelling + "s"] = canonical + "s"
    return fold


@cache
def known_words() -> tuple[str, ...]:
    """The question words a model reads, in a fixed order (specials first)."""
    words: set[str] = set()
    folder = resources.files("clevrlang").joinpath("data/clevr/CLEVR_1.0_templates")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            for template in json.loads(entry.read_text()):
                for text in template["text"]:
                    words.update(_WORD.findall(_SLOT.sub(" ", text).replace("[", " ")
                                               .replace("]", " ").lower()))
    for t in (Type.SIZE, Type.COLOR, Type.MATERIAL, Type.SHAPE):
        words.update(ENUMS[t])
    for t in (Type.SHAPE,):
        words.update(v + "s" for v in ENUMS[t])
    words.update(("thing", "things"))
    for spellings in SYNONYMS.values():
        for spelling in spellings:
            words.update(spelling.split())
    fold = _folding()
    words = {fold.get(w, w) for w in words}
    return SPECIALS + tuple(sorted(words))


@cache
def word_ids() -> dict[str, int]:
    return {w: i for i, w in enumerate(known_words())}


def words(text: str, unknown: bool = False, name: str = "<question>") -> list[str]:
    """The question's words, folded; an unknown word is a UsageError naming it (with the
    closest known words), or ``<unk>`` when ``unknown`` allows it."""
    ids = word_ids()
    fold = _folding()
    out = []
    for m in _WORD.finditer(text.lower()):
        if m.group() in _SKIPPED:
            continue
        w = fold.get(m.group(), m.group())
        if w not in ids:
            if not unknown:
                raise _unknown(text, m, name)
            w = UNK
        out.append(w)
    if len(out) > MAX_WORDS:
        raise UsageError(f"the question has {len(out)} words; at most {MAX_WORDS} are read",
                         hint="CLEVR's questions are under 50 words")
    return out


def encode(text: str, unknown: bool = False) -> list[int]:
    """Word ids between ``<s>`` and ``</s>``."""
    ids = word_ids()
    return [ids[START]] + [ids[w] for w in words(text, unknown)] + [ids[END]]


def _unknown(text: str, m: re.Match, name: str) -> ClevrError:
    # The caret needs the original text; lower() keeps offsets for nearly all text, and a
    # question whose length it changes gets no caret rather than a wrong one.
    span = Span(Source(text, name), m.start(), m.end()) if len(text.lower()) == len(text) else None
    candidates = [w for w in known_words() if w not in SPECIALS]
    close = difflib.get_close_matches(m.group(), candidates, n=3, cutoff=0.6)
    hint = ("did you mean " + " or ".join(f"'{c}'" for c in close) + "? " if close else "")
    hint += "(`clevr ask --guess`, or `??` in the REPL, reads it as unknown and guesses anyway)"
    return UsageError(f"unknown word {shown(m.group())}", span, hint=hint)
