"""The one vocabulary of clevrlang: types, attribute values, and every function's signature.

Everything else -- the parser, the type checker, the IR, the JSON converter, the executors,
the question generator, the neural module registry, the REPL's completer and the docs --
asks this module. Nothing else spells a function name.

CLEVR's own signature table (``data/clevr/metadata.json``) is read as data; the functions
CLEVR lacks (images, codecs, metrics) are declared below in the same form.

>>> FUNCTIONS["filter_color"].signature()
'filter_color[Color](Objects) -> Objects'
>>> attribute_of("cube")
'shape'
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources


class Type(str, enum.Enum):
    """The types of clevrlang values (their surface names are the enum values)."""

    IMAGE = "Image"
    CODE = "Code"
    OBJECTS = "Objects"
    OBJECT = "Object"
    INT = "Int"
    FLOAT = "Float"
    BOOL = "Bool"
    STR = "Str"
    COLOR = "Color"
    SIZE = "Size"
    MATERIAL = "Material"
    SHAPE = "Shape"
    RELATION = "Relation"
    CODEC = "Codec"

    def __str__(self) -> str:
        return self.value


#: CLEVR's metadata type names -> ours.
CLEVR_TYPE_NAMES = {
    "ObjectSet": Type.OBJECTS,
    "Object": Type.OBJECT,
    "Integer": Type.INT,
    "Bool": Type.BOOL,
    "Color": Type.COLOR,
    "Size": Type.SIZE,
    "Material": Type.MATERIAL,
    "Shape": Type.SHAPE,
    "Relation": Type.RELATION,
}


def _data(name: str):
    return json.loads(resources.files("clevrlang").joinpath("data/clevr", name).read_text())


METADATA = _data("metadata.json")
PROPERTIES = _data("properties.json")
SYNONYMS = _data("synonyms.json")

#: The four object attributes in CLEVR's canonical order (the order its ``filter`` macro
#: expands in: size, colour, material, shape).
ATTRIBUTES: tuple[str, ...] = ("size", "color", "material", "shape")
ATTRIBUTE_TYPES: dict[str, Type] = {
    "size": Type.SIZE,
    "color": Type.COLOR,
    "material": Type.MATERIAL,
    "shape": Type.SHAPE,
}

#: Values of every enumeration type, in CLEVR's order.
ENUMS: dict[Type, tuple[str, ...]] = {
    t: tuple(METADATA["types"][name]) for name, t in CLEVR_TYPE_NAMES.items()
    if METADATA["types"].get(name)
}
COLORS = ENUMS[Type.COLOR]
SIZES = ENUMS[Type.SIZE]
MATERIALS = ENUMS[Type.MATERIAL]
SHAPES = ENUMS[Type.SHAPE]
RELATIONS = ENUMS[Type.RELATION]

#: CLEVR's rendering constants: sRGB colour of each colour name, radius of each size.
COLOR_RGB: dict[str, tuple[int, int, int]] = {k: tuple(v) for k, v in PROPERTIES["colors"].items()}
SIZE_RADIUS: dict[str, float] = dict(PROPERTIES["sizes"])

#: Standard and learned image codecs the ``compress`` sub-language can name.
STANDARD_CODECS = ("jpeg", "webp", "jpeg2000", "avif")
LEARNED_CODECS = (
    "fc_residual_shared", "fc_residual", "conv_residual_shared", "conv_residual",
    "fc_lstm", "conv_lstm", "conv_autoencoder",
)
#: Whole-image codecs trained for answering (compress/task.py): ``task_<architecture>``, and
#: ``task``, the installed default's alias.
TASK_CODECS = ("task_conv", "task")
TASK_DEFAULT = "task_conv"
ENUMS[Type.CODEC] = STANDARD_CODECS + LEARNED_CODECS + TASK_CODECS
#: Per-iteration training losses of the learned codecs (``clevr train codec --loss``).
CODEC_LOSSES = ("l1", "ssim")
#: Bits in codec training: the sign the codec writes, or Toderici et al.'s samples (both
#: with straight-through gradients).
BINARIZERS = ("sign", "stochastic")

#: Answers are CLEVR's strings: every attribute value, yes/no and the counts 0..10.
BOOL_ANSWERS = ("yes", "no")
COUNT_ANSWERS = tuple(str(i) for i in range(11))
ANSWERS: tuple[str, ...] = (
    BOOL_ANSWERS + COUNT_ANSWERS + SIZES + COLORS + MATERIALS + SHAPES
)


@cache
def _value_index() -> dict[str, Type]:
    index: dict[str, Type] = {}
    for t in (Type.SIZE, Type.COLOR, Type.MATERIAL, Type.SHAPE, Type.RELATION, Type.CODEC):
        for v in ENUMS[t]:
            index.setdefault(v, t)
    return index


def type_of_value(value: str) -> Type | None:
    """The enumeration a bare value belongs to (``"red"`` -> ``Color``), or None."""
    return _value_index().get(value)


def attribute_of(value: str) -> str | None:
    """The object attribute a value names (``"cube"`` -> ``"shape"``), or None."""
    t = type_of_value(value)
    for attr, at in ATTRIBUTE_TYPES.items():
        if at is t:
            return attr
    return None


@dataclass(frozen=True)
class Param:
    """A value input (in square brackets): an enumeration value or a keyword number."""

    type: Type
    keyword: str | None = None  # ``bytes=128`` has keyword "bytes"
    optional: bool = False


@dataclass(frozen=True)
class Function:
    """One function of the language: its typed inputs, value inputs, output and meaning."""

    name: str
    inputs: tuple[Type, ...]
    output: Type
    params: tuple[Param, ...] = ()
    doc: str = ""
    family: str = ""  # filter, query, same, equal, compare, relate, set, codec, metric, ...
    attribute: str | None = None  # the object attribute a filter/query/same/equal_* reads
    operator: str | None = None  # set/equal/compare: a key of semantics.OPERATORS
    clevr: bool = False  # one of CLEVR's 27 executable functions (JSON-convertible)
    optional_inputs: int = 0  # trailing inputs that may be left out (scene's image)
    terminal: bool = False

    @property
    def arity(self) -> int:
        return len(self.inputs)

    def signature(self) -> str:
        params = ""
        if self.params:
            params = "[" + ", ".join(
                (f"{p.keyword}={p.type}" if p.keyword else str(p.type)) for p in self.params
            ) + "]"
        required = len(self.inputs) - self.optional_inputs
        ins = [str(t) if i < required else f"{t}?" for i, t in enumerate(self.inputs)]
        return f"{self.name}{params}({', '.join(ins)}) -> {self.output}"


_DOCS = {
    "scene": "All objects of the image (the current one when no image is given).",
    "filter": "The objects of the input whose {attr} is the given value.",
    "unique": "The single object of a set; fails unless the set has exactly one object.",
    "relate": "The objects standing in the given relation to the object (left/right/front/behind).",
    "union": "Objects in either set.",
    "intersect": "Objects in both sets.",
    "count": "The number of objects in a set.",
    "exist": "Whether a set has any object.",
    "query": "The {attr} of an object.",
    "same": "The other objects with the same {attr} as the object.",
    "equal": "Whether two {attr} values are equal.",
    "equal_integer": "Whether two counts are equal.",
    "less_than": "Whether the first count is less than the second.",
    "greater_than": "Whether the first count is greater than the second.",
    "equal_object": "Whether two objects are the same object.",
}


#: CLEVR's binary functions whose name does not say their family: (family, operator).
_BINARY = {
    "union": ("set", "or"), "intersect": ("set", "and"), "equal_integer": ("compare", "eq"),
    "less_than": ("compare", "lt"), "greater_than": ("compare", "gt"),
    "equal_object": ("equal", "eq"),
}


def _clevr_functions() -> dict[str, Function]:
    out: dict[str, Function] = {}
    for f in METADATA["functions"]:
        name = f["name"]
        if name in _MACRO_NAMES:
            continue
        inputs = tuple(CLEVR_TYPE_NAMES[t] for t in f["inputs"])
        params = tuple(Param(CLEVR_TYPE_NAMES[t]) for t in f.get("side_inputs", []))
        # The one place CLEVR's names are taken apart: ``<family>_<attribute>``, and the
        # binary functions' family and operator from _BINARY.
        head, _, tail = name.partition("_")
        attribute = tail if tail in ATTRIBUTE_TYPES else None
        family, operator = _BINARY.get(name, (head if attribute else name, None))
        if family == "equal":
            operator = "eq"
        key = family if attribute else name
        doc = _DOCS.get(key, _DOCS.get(name, "")).format(attr=attribute)
        out[name] = Function(
            name=name, inputs=inputs, output=CLEVR_TYPE_NAMES[f["output"]], params=params,
            doc=doc, family=family, attribute=attribute, operator=operator, clevr=True,
            terminal=bool(f.get("terminal")),
        )
    # In clevrlang, scene optionally takes the image it describes.
    out["scene"] = Function(
        name="scene", inputs=(Type.IMAGE,), output=Type.OBJECTS, doc=_DOCS["scene"],
        family="scene", clevr=True, optional_inputs=1,
    )
    return out


#: CLEVR's template macros: sugar the generator expands into primitive functions. The
#: language offers ``filter[v ...]`` (attribute inferred per value); the others are
#: written as pipes of primitives.
_MACRO_NAMES = frozenset(
    f["name"] for f in METADATA["functions"]
    if f["name"] == "filter" or f["name"].startswith(("filter_unique", "filter_count",
                                                       "filter_exist", "relate_filter"))
)
MACROS: dict[str, dict] = {
    f["name"]: f for f in METADATA["functions"] if f["name"] in _MACRO_NAMES
}

_EXTRA = [
    Function("load", (Type.STR,), Type.IMAGE, family="image",
             doc="Read an image file (PNG, JPEG, ...)."),
    Function("compress", (Type.IMAGE,), Type.IMAGE, family="codec",
             params=(Param(Type.CODEC), Param(Type.INT, keyword="bytes")),
             doc="The image after encoding within a byte budget and decoding again."),
    Function("encode", (Type.IMAGE,), Type.CODE, family="codec",
             params=(Param(Type.CODEC), Param(Type.INT, keyword="bytes")),
             doc="Encode an image with a codec within a byte budget."),
    Function("decode", (Type.CODE,), Type.IMAGE, family="codec",
             doc="Decode a Code back into an image."),
    Function("nbytes", (Type.CODE,), Type.INT, family="codec",
             doc="The payload size of a Code in bytes (no container header)."),
    Function("ssim", (Type.IMAGE, Type.IMAGE), Type.FLOAT, family="metric",
             doc="Structural similarity (Gaussian window 11x11, sigma 1.5, Wang et al. constants)."),
    Function("psnr", (Type.IMAGE, Type.IMAGE), Type.FLOAT, family="metric",
             doc="Peak signal-to-noise ratio in dB (peak 255)."),
]

FUNCTIONS: dict[str, Function] = {**_clevr_functions(), **{f.name: f for f in _EXTRA}}

def function_for(family: str, attribute: str) -> Function:
    """The function of ``family`` that reads ``attribute``, so no code builds its name.

    >>> function_for("filter", "color").name, function_for("query", "shape").name
    ('filter_color', 'query_shape')
    """
    for f in FUNCTIONS.values():
        if f.family == family and f.attribute == attribute:
            return f
    raise KeyError(f"no {family} function reads {attribute}")


#: The 27 executable CLEVR functions, in metadata order.
CLEVR_FUNCTIONS: tuple[str, ...] = tuple(n for n, f in FUNCTIONS.items() if f.clevr)

#: The 13 CLEVR question types (a question's type is its program's last function), in the
#: column order of the papers' tables.
QUESTION_TYPES: tuple[str, ...] = (
    "exist", "count", "equal_integer", "less_than", "greater_than",
    "query_size", "query_color", "query_material", "query_shape",
    "equal_size", "equal_color", "equal_material", "equal_shape",
)
QUESTION_TYPE_LABELS = {
    "exist": "Exist", "count": "Count", "equal_integer": "Equal", "less_than": "Less",
    "greater_than": "More", "query_size": "Q-Size", "query_color": "Q-Color",
    "query_material": "Q-Mat.", "query_shape": "Q-Shape", "equal_size": "C-Size",
    "equal_color": "C-Color", "equal_material": "C-Mat.", "equal_shape": "C-Shape",
}

#: ``filter[v ...]``, CLEVR's filter macro: the one callable name that is not a function
#: (the checker lowers it to one ``filter`` family function per value, ATTRIBUTES order).
FILTER_MACRO = "filter"
#: Statement keywords.
KEYWORDS = ("let", "def", "expect")


def callable_names() -> set[str]:
    """Every name a program may call: the functions and the filter macro."""
    return set(FUNCTIONS) | {FILTER_MACRO}


#: Keyword literals for Bool.
BOOL_WORDS = {"yes": True, "no": False, "true": True, "false": False}

#: Surface type names usable in ``def`` parameter annotations.
TYPE_NAMES: dict[str, Type] = {t.value: t for t in Type}


def _value_synonyms() -> dict[str, str]:
    # Only one-word synonyms of attribute values: CLEVR's relation phrases ("left of") are
    # question text, not names, and its nouns ("thing", "object") name no value.
    table = {}
    for value, words in SYNONYMS.items():
        if attribute_of(value) is None:
            continue
        for word in words:
            if word != value and word.isidentifier():
                assert type_of_value(word) is None and word not in FUNCTIONS, word
                table[word] = value
    return table


#: CLEVR's synonyms of attribute values, accepted wherever the value is (``big`` -> ``large``).
VALUE_SYNONYMS: dict[str, str] = _value_synonyms()


def canonical_value(word: str) -> str:
    """The attribute value a synonym stands for; any other word unchanged.

    >>> canonical_value("ball"), canonical_value("shiny"), canonical_value("red")
    ('sphere', 'metal', 'red')
    """
    return VALUE_SYNONYMS.get(word, word)


@dataclass(frozen=True)
class Vocabulary:
    """A read-only view bundling the tables above (handy to pass to generated tooling)."""

    functions: dict[str, Function] = field(default_factory=lambda: FUNCTIONS)
    enums: dict[Type, tuple[str, ...]] = field(default_factory=lambda: ENUMS)

    def names(self) -> list[str]:
        """Every name a program may spell: functions, values, keywords, type names."""
        values = [v for vs in self.enums.values() for v in vs]
        return sorted(set(self.functions) | set(values) | set(TYPE_NAMES)
                      | {FILTER_MACRO, *KEYWORDS, "yes", "no"})


def render_value(value, type: Type | None = None) -> str:
    """A value as CLEVR's answer string: the one renderer of answers, for every executor.

    >>> render_value(True), render_value(3), render_value("red"), render_value(0.91234)
    ('yes', '3', 'red', '0.9123')
    >>> render_value(2, Type.OBJECT), render_value(0b101, Type.OBJECTS)
    ('#2', '{#0, #2}')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    if type is Type.OBJECT:  # an object's index, an object set's bitmask
        return f"#{value}"
    if type is Type.OBJECTS:
        return "{" + ", ".join(f"#{i}" for i in range(value.bit_length()) if value >> i & 1) + "}"
    return str(value)
