"""The module registry is read from the vocabulary: one module per function token."""

import math

from clevrlang.language.ir import Node
from clevrlang.language.vocabulary import ENUMS, FUNCTIONS
from clevrlang.modules.learned.modules import (BinaryModule, UnaryModule, module_arity,
                                               module_tokens, spell, token_of)


def test_one_token_per_function_and_value():
    expected = set()
    for name, f in FUNCTIONS.items():
        if f.clevr and f.name != "scene":
            values = [ENUMS[p.type] for p in f.params]
            expected |= {spell(name, v) for v in __import__("itertools").product(*values)}
    tokens = module_tokens()
    assert len(tokens) == len(set(tokens)) == len(expected)
    assert set(tokens) == expected
    n = sum(math.prod(len(ENUMS[p.type]) for p in f.params)
            for f in FUNCTIONS.values() if f.clevr and f.name != "scene")
    assert len(tokens) == n


def test_arity_comes_from_signatures():
    arity = module_arity()
    for token, k in arity.items():
        assert k == FUNCTIONS[token.partition("[")[0]].arity
    assert arity["relate[left]"] == 1 and arity["equal_integer"] == 2 and arity["union"] == 2


def test_model_has_exactly_the_registry(tiny_model):
    assert tuple(tiny_model.mods) == module_tokens()
    for token, module in tiny_model.mods.items():
        cls = BinaryModule if module_arity()[token] == 2 else UnaryModule
        assert type(module) is cls


def test_token_of_nodes():
    s = Node.make("scene")
    f = Node.make("filter_material", ("metal",), (s,))
    assert token_of(f) == "filter_material[metal]"
    assert token_of(Node.make("count", (), (f,))) == "count"


def test_classifier_pools(tiny_config):
    import dataclasses

    import torch

    from clevrlang.language.vocabulary import ANSWERS
    from clevrlang.modules.learned.model import NMN

    for pool in ("max2", "global"):
        net = NMN(dataclasses.replace(tiny_config, classifier_pool=pool))
        h, w = tiny_config.feature_size
        assert net.classifier(torch.zeros(3, 8, h, w)).shape == (3, len(ANSWERS))
