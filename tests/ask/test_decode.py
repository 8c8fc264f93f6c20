"""Grammar-constrained decoding: every program returned type-checks, beams come best first."""

import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clevrlang.asking import ProgramGenerator, _checked
from clevrlang.asking.decode import beam_search, training_masks
from clevrlang.asking.grammar import (
    MAX_TOKENS, Stack, accepts_table, program_of, program_tokens, token_costs, token_ids,
    tokens_of,
)
from clevrlang.asking.tokens import encode
from clevrlang.language.errors import ClevrError
from clevrlang.language.program import parse

# CI size; CLEVRLANG_ASK_EXAMPLES=10000 for the full run.
EXAMPLES = int(os.environ.get("CLEVRLANG_ASK_EXAMPLES", "60"))


def test_prefix_tokens_round_trip_every_fixture_program(gen_fixture):
    _, generator, released = gen_fixture
    for q in generator + released:
        toks = tokens_of(q.program.node)
        assert program_of(toks).node is q.program.node
        assert len(toks) <= MAX_TOKENS


def test_the_type_stack_allows_every_gold_program_and_closes(gen_fixture):
    ids, acc, cost = token_ids(), accepts_table(), token_costs()
    for q in gen_fixture[1]:
        stack = Stack()
        for t in tokens_of(q.program.node):
            assert acc[stack.top()][ids[t]] and cost[ids[t]] <= stack.slack()
            stack = stack.push(ids[t])
        assert stack.done


def test_ill_typed_continuations_are_masked():
    ids = token_ids()
    mask = training_masks([[ids["count"], ids["scene"], ids["</s>"]]], 3)[0]
    first = {program_tokens()[i].text for i in mask[0].nonzero().flatten().tolist()}
    assert "count" in first and "exist" in first and "query_color" in first
    assert not {"scene", "unique", "filter_color[red]", "relate[left]"} & first  # not answers
    after_count = {program_tokens()[i].text for i in mask[1].nonzero().flatten().tolist()}
    assert "scene" in after_count and "unique" not in after_count and "count" not in after_count
    assert mask[2].nonzero().flatten().tolist() == [ids["</s>"]]


def test_a_token_string_that_is_not_one_program_is_a_data_error():
    for bad in (["count"], ["scene", "scene"], [], ["<s>"], ["count", "scene", "scene"]):
        with pytest.raises(ClevrError):
            program_of(bad)


def _generator(model):
    gen = ProgramGenerator.__new__(ProgramGenerator)
    gen.model, gen.info, gen.path = model, {}, "<test>"
    return gen


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=400),
    st.lists(st.sampled_from(["how", "many", "red", "cubes", "?", "the", "left", "of", "is",
                              "same", "color", "as", "Würfel", "球", "", "zzz"]),
             max_size=200).map(" ".join),
))
def test_any_string_gives_checked_programs_or_a_clevr_error(untrained, text):
    gen = _generator(untrained)
    for unknown in (False, True):
        try:
            guesses = gen.top(text, 2, unknown=unknown)
        except ClevrError as e:
            # With unknown words allowed, only an over-long question is refused.
            assert not unknown or "at most" in e.message, e.render()
            continue
        assert guesses
        for g in guesses:
            assert parse(g.program.to_clv()).node is g.program.node


def test_beams_are_distinct_and_best_first(untrained):
    words = [encode("how many red cubes are left of the big ball ?"), encode("")]
    for cands in beam_search(untrained, words, k=6):
        assert len(cands) == 6
        scores = [c.score for c in cands]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(c.tokens) for c in cands}) == 6
        for c in cands:
            _checked(program_of(c.tokens))


def test_beam_search_finds_at_least_the_greedy_score(untrained):
    words = [encode("is there a cube"), encode("what shape is the small thing ?")]
    greedy = beam_search(untrained, words, k=1)
    beams = beam_search(untrained, words, k=4)
    for g, b in zip(greedy, beams):
        assert b[0].score >= g[0].score - 1e-4

