"""CLEVR's synonyms of attribute values (big, shiny, ball, ...) are accepted as the value."""

import pytest

from clevrlang import parse
from clevrlang.language.errors import ClevrTypeError
from clevrlang.language.vocabulary import (ENUMS, SYNONYMS, VALUE_SYNONYMS, canonical_value,
                                           type_of_value)

SAME = [
    ("scene() |> filter[big shiny ball] |> count", "scene() |> filter[large metal sphere] |> count"),
    ("scene() |> filter[tiny matte block] |> exist", "scene() |> filter[small rubber cube] |> exist"),
    ("scene() |> filter[metallic] |> count", "scene() |> filter[metal] |> count"),
    ("scene() |> filter_size[big] |> count", "scene() |> filter_size[large] |> count"),
    ("scene() |> filter_shape[ball] |> filter_material[shiny] |> count",
     "scene() |> filter_shape[sphere] |> filter_material[metal] |> count"),
    ("equal_shape(scene() |> filter[red] |> unique |> query_shape, ball)",
     "equal_shape(scene() |> filter[red] |> unique |> query_shape, sphere)"),
    ("expect scene() |> filter[red] |> unique |> query_shape == ball",
     "expect scene() |> filter[red] |> unique |> query_shape == sphere"),
]


@pytest.mark.parametrize("synonym, canonical", SAME)
def test_a_synonym_means_its_value(synonym, canonical):
    a, b = parse(synonym), parse(canonical)
    assert [r.node for r in a.roots] == [r.node for r in b.roots]
    assert [r.expected for r in a.roots] == [r.expected for r in b.roots]
    assert a.to_clv() == b.to_clv()  # the IR holds the canonical word only


def test_the_table_is_every_one_word_synonym_of_an_attribute_value():
    assert VALUE_SYNONYMS == {"big": "large", "tiny": "small", "metallic": "metal",
                              "shiny": "metal", "matte": "rubber", "block": "cube",
                              "ball": "sphere"}
    for word, value in VALUE_SYNONYMS.items():
        assert word in SYNONYMS[value] and type_of_value(word) is None
    # relation phrases and the "thing"/"object" nouns are question text, not values
    assert canonical_value("thing") == "thing" and canonical_value("left") == "left"
    with pytest.raises(ClevrTypeError, match="'thing' is not a size"):
        parse("scene() |> filter[thing] |> count")


def test_a_synonym_of_the_wrong_attribute_is_refused_by_name():
    with pytest.raises(ClevrTypeError) as e:
        parse("scene() |> filter_size[ball] |> count")
    assert "filter_size needs a Size, but 'ball' is a Shape" in e.value.render()


def test_two_words_for_one_attribute_are_refused():
    with pytest.raises(ClevrTypeError, match="two size values in one filter: 'big' and 'large'"):
        parse("scene() |> filter[big large] |> count")


def test_unknown_words_still_get_did_you_mean():
    with pytest.raises(ClevrTypeError) as e:
        parse("scene() |> filter[blu] |> count")
    assert "did you mean 'blue'?" in e.value.render()


def test_a_let_named_like_a_synonym_is_the_let():
    p = parse("let big = scene() |> filter[red]\nbig |> count")
    assert p.node.inputs[0].op == "filter_color"


def test_the_table_covers_no_value_of_another_enumeration():
    every = {v for values in ENUMS.values() for v in values}
    assert not set(VALUE_SYNONYMS) & every
