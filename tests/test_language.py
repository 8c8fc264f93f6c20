"""Parsing, checking and printing .clv programs."""

import doctest
import importlib

import pytest

from clevrlang import parse
from clevrlang.language.errors import ClevrTypeError
from clevrlang.language.ir import Node

EXAMPLE = '''
# How many cylinders are in front of the small thing and left of the green object?
let small = scene() |> filter_size[small] |> unique
let green = scene() |> filter[green] |> unique          # filter[...] infers the attribute
count(filter_shape[cylinder](intersect(relate[front](small), relate[left](green))))
def reds(i: Image) -> Int = i |> scene |> filter[red] |> count
expect reds(load("images/0001.png")) == 2
load("a.png") |> compress[conv_lstm, bytes=128] |> scene |> filter[red cube] |> count
'''


@pytest.mark.parametrize("module", [
    "clevrlang", "clevrlang.language.vocabulary", "clevrlang.language.errors",
    "clevrlang.language.ir", "clevrlang.language.program", "clevrlang.language.parser",
    "clevrlang.evaluation"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_nested_and_piped_calls_are_the_same_node():
    nested = parse("count(filter_shape[cylinder](relate[front](unique(filter_size[small](scene())))))")
    piped = parse("scene() |> filter_size[small] |> unique |> relate[front] "
                  "|> filter_shape[cylinder] |> count")
    assert nested.node is piped.node
    assert nested.question_type == "count"


def test_filter_infers_attributes_in_clevr_order():
    p = parse("scene() |> filter[cube large red] |> count")
    ops = [n.label() for n in p.nodes()]
    assert ops == ["scene", "filter_size[large]", "filter_color[red]", "filter_shape[cube]", "count"]


def test_let_shares_a_node_and_def_inlines():
    p = parse(EXAMPLE)
    inter = p.roots[0].node.inputs[0].inputs[0]
    assert inter.op == "intersect"
    small = parse("scene() |> filter_size[small] |> unique").node
    assert inter.inputs[0].inputs[0] is small  # the let's node, shared
    expect = p.roots[1]
    assert expect.is_expect and expect.expected == 2
    assert expect.node.inputs[0].inputs[0].inputs[0].op == "load"


def test_multiline_pipes_and_brackets():
    p = parse("let a = scene()\n    |> filter[red]\n    |> count\ncount(\n  scene()\n)\n")
    assert [r.node.op for r in p.roots] == ["count"]


def test_canonical_text_round_trips():
    p = parse(EXAMPLE)
    text = p.to_clv()
    again = parse(text)
    assert again.to_clv() == text
    assert [r.node for r in again.roots] == [r.node for r in p.roots]
    assert "let small = " in text and "|> relate[front]" in text


def test_nodes_are_immutable_and_interned():
    a = Node.make("scene")
    with pytest.raises(AttributeError):
        a.op = "count"
    assert Node.make("count", (), (a,)) is Node.make("count", (), (Node.make("scene"),))


def test_compress_types():
    p = parse('nbytes(encode[jpeg, bytes=100](load("a.png")))')
    assert str(p.node.type) == "Int"
    with pytest.raises(ClevrTypeError) as e:
        parse('count(encode[jpeg, bytes=100](load("a.png")))')
    assert e.value.span.column == 7  # the caret sits under the wrong argument


def test_let_may_rebind_names():
    p = parse("let o = scene() |> filter[red]\ncount(o)\nlet o = scene() |> filter[blue]\ncount(o)")
    a, b = p.split()
    assert a.node is not b.node
    assert a.to_clevr_json()[1]["value_inputs"] == ["red"]
