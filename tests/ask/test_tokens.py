"""The question tokenizer: CLEVR's words and synonyms, unknown words named with a caret."""

import pytest

from clevrlang.asking.tokens import UNK, encode, known_words, word_ids, words
from clevrlang.language.errors import ClevrError, ExitCode, UsageError


def test_lower_cases_splits_punctuation_and_folds_synonyms():
    assert words("Are there any BIG shiny balls; or blocks?") == [
        "are", "there", "any", "large", "metal", "spheres", ";", "or", "cubes", "?"]
    assert words("Is it matte.") == ["is", "it", "rubber"]  # '.' carries nothing
    assert words("What color is the tiny object") == words("what color is the small thing")


def test_the_words_come_from_the_templates_and_vocabulary_not_a_training_set():
    known = set(known_words())
    assert {"cylinders", "metal", "rubber", "front", "behind", "how", "many"} <= known
    assert not {"ball", "big", "shiny", "object"} & known  # folded into their values
    assert known_words()[:4] == ("<pad>", "<s>", "</s>", "<unk>")


def test_every_question_of_clevrs_generator_is_read(gen_fixture):
    _, generator, released = gen_fixture
    for q in generator + released:
        assert UNK not in words(q.text)


def test_an_unknown_word_is_named_with_a_caret_and_did_you_mean():
    with pytest.raises(UsageError) as e:
        words("How many cylindres are there?")
    text = e.value.render()
    assert "unknown word 'cylindres'" in text and "did you mean 'cylinders'" in text
    assert text.splitlines()[2] == "           ^~~~~~~~~"  # under the word, not elsewhere
    assert e.value.exit_code == ExitCode.USAGE


def test_unknown_words_can_be_guessed_through():
    ids = encode("How many Würfel are there?", unknown=True)
    assert ids[3] == word_ids()[UNK] and ids[0] == word_ids()["<s>"]


def test_a_huge_question_is_refused_in_one_line():
    with pytest.raises(ClevrError) as e:
        words("red " * 10_000)
    assert "10,000 words" not in e.value.message and "10000 words" in e.value.message
    assert len(e.value.render()) < 300
