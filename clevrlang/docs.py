"""The language reference, generated from the vocabulary (``clevr doc``, docs/language.md)."""

from __future__ import annotations

from clevrlang.language.vocabulary import (
    ATTRIBUTES, ATTRIBUTE_TYPES, ENUMS, FUNCTIONS, QUESTION_TYPES, VALUE_SYNONYMS, Type,
)

_FAMILY_TITLES = [
    ("scene", "Scenes"), ("filter", "Filtering"), ("unique", "Picking one object"),
    ("relate", "Spatial relations"), ("same", "Same attribute"), ("set", "Set operations"),
    ("count", "Counting"), ("exist", "Existence"), ("query", "Queries"),
    ("equal", "Comparing attributes and objects"), ("compare", "Comparing counts"),
    ("image", "Images"), ("codec", "Compression"), ("metric", "Image quality"),
]

_TYPE_DOCS = {
    Type.IMAGE: "an RGB image", Type.CODE: "a compressed bitstream (`encode`)",
    Type.OBJECTS: "a set of scene objects", Type.OBJECT: "exactly one scene object",
    Type.INT: "a whole number (counts)", Type.FLOAT: "a real number (metrics)",
    Type.BOOL: "`yes` or `no`", Type.STR: "a string literal, e.g. a file name",
}

_SYNTAX = '''\
## Syntax

```
# comments run to the end of the line
count(filter_shape[cylinder](relate[front](unique(filter_size[small](scene())))))

scene() |> filter[red cube] |> count        # a |> f[v] means f[v](a); a |> f(b) means f(a, b)
let small = scene() |> filter_size[small] |> unique     # let shares a sub-program
def reds(i: Image) -> Int = i |> scene |> filter[red] |> count
expect reds(load("images/0001.png")) == 2   # expectations make a file a test suite
load("a.png") |> compress[jpeg, bytes=128] |> scene |> count
```

* Square brackets hold value inputs, parentheses data inputs, as in the CLEVR papers.
* `filter[v ...]` infers each value's attribute and expands, in CLEVR's order (size, color,
  material, shape), to `filter_size`, `filter_color`, `filter_material`, `filter_shape`.
* `scene()` is the current scene or image (`--scene`/`--image`, the REPL's `:image`);
  `scene(img)` is the scene of an image (perception back ends).
* A newline ends a statement, except inside brackets and before a line starting with `|>`.
* `let` may rebind a name; `def` bodies are checked once and inlined where called.
* `clevr fmt FILE...` prints files in canonical layout (a pipe for every one-input call),
  keeping comments, lets and defs; `--check` shows what would change, `--write` rewrites.
* Answers are CLEVR's strings: `yes`/`no`, `0`..`10`, attribute values.
'''


def language_reference() -> str:
    out = ["# The clevrlang language reference", "",
           "Generated from `clevrlang/language/vocabulary.py` by `clevr doc`; "
           "do not edit by hand.", "",
           _SYNTAX, "## Types", ""]
    for t in Type:
        if t in _TYPE_DOCS:
            out.append(f"* `{t}` -- {_TYPE_DOCS[t]}")
        elif t in ENUMS:
            out.append(f"* `{t}` -- one of " + ", ".join(f"`{v}`" for v in ENUMS[t]))
    out += ["", "## Attribute values and their synonyms", "",
            "CLEVR's questions also use the words in brackets; a program may write one wherever",
            "its value goes (`filter[big shiny ball]` is `filter[large metal sphere]`), and",
            "`clevr fmt` writes the value.", ""]
    for attr in ATTRIBUTES:
        values = []
        for v in ENUMS[ATTRIBUTE_TYPES[attr]]:
            syn = [s for s, value in VALUE_SYNONYMS.items() if value == v]
            values.append(f"`{v}`" + (f" ({', '.join(syn)})" if syn else ""))
        out.append(f"* {attr}: " + ", ".join(values))
    out += ["", "## Functions", ""]
    for family, title in _FAMILY_TITLES:
        funcs = [f for f in FUNCTIONS.values() if f.family == family]
        if not funcs:
            continue
        out += [f"### {title}", "", "| function | meaning |", "| --- | --- |"]
        for f in funcs:
            out.append(f"| `{f.signature()}` | {f.doc} |")
        out.append("")
    out += ["## Question types", "",
            "A CLEVR question's type is its program's last function: "
            + ", ".join(f"`{q}`" for q in QUESTION_TYPES) + ".", ""]
    return "\n".join(out)
