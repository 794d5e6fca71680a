"""06_attention: its visible and hidden tests pass the solution, the reference and every
correct variant, and name each mistake of tests/wrong_answers/attention.py where the student
first meets it (tests/exercise_suite.py). Then what is particular to this notebook: a wrong
AdditiveAttention cannot fail a right decoder, a wrong masked_softmax is named where the
attentions use it, the probes run without the reference, and each hidden case separates the
mistakes it lists."""

import itertools

import pytest
import torch

from helpers import reference
from helpers.checks import check_close
from helpers.hidden import attention as hidden
from helpers.hidden import hidden_tests
from tests.exercise_suite import exercise_suite, namespace_before, run_test_cell
from tests.hidden_suite import assert_random_streams_untouched
from tests.wrong_answers import attention as answers

globals().update(exercise_suite("06_attention"))

ASSIGNMENT = "06_attention"


class Unanswered(torch.nn.Module):
    """The released stub: nbgrader replaces the body with this."""

    def __init__(self, *args):
        raise NotImplementedError()


WRONG_ATTENTIONS = [Unanswered, answers.AdditiveAttention__swapped_projections,
                    answers.AdditiveAttention__linear_layers, answers.AdditiveAttention__randn,
                    answers.AdditiveAttention__context_only, answers.AdditiveAttention__transposed]


@pytest.mark.parametrize("attention", WRONG_ATTENTIONS, ids=lambda a: a.__name__)
def test_a_wrong_additive_attention_does_not_fail_a_right_decoder(attention):
    outcome = run_test_cell(ASSIGNMENT, "test_AttentionDecoder", {"AdditiveAttention": attention})
    assert outcome.part is None, str(outcome)


@pytest.mark.parametrize("cell", ["test_scaled_dot_product_attention", "test_AdditiveAttention"])
def test_a_wrong_masked_softmax_is_named_where_the_attentions_use_it(cell):
    outcome = run_test_cell(ASSIGNMENT, cell,
                            {"masked_softmax": answers.masked_softmax__multiplied_after})
    assert outcome.part == "visible" and "fix masked_softmax first" in outcome.message, str(
        outcome)
    hidden_only = run_test_cell(ASSIGNMENT, cell,
                                {"masked_softmax": answers.masked_softmax__multiplied_after},
                                only=("hidden",))
    assert "fix masked_softmax first" in hidden_only.message, str(hidden_only)


def solution_answers():
    """[(hidden test, the solution's answer it checks)], one per test cell."""
    return [(test, namespace_before(ASSIGNMENT, test.cell)[test.exercise])
            for test in hidden_tests(ASSIGNMENT)]


class NoReference:
    def __getattr__(self, name):
        raise AssertionError(f"a probe used the reference ({name})")


def test_the_probes_never_use_the_reference(monkeypatch):
    answers_of = solution_answers()
    monkeypatch.setattr(hidden, "ref", NoReference())
    for test, answer in answers_of:
        test.probe(answer)


def test_the_hidden_tests_leave_the_random_streams_alone():
    calls = [lambda test=test, answer=answer: test(answer)
             for test, answer in solution_answers()]
    assert_random_streams_untouched(*calls)


def test_the_hidden_tests_pass_silently(capfd):
    for test, answer in solution_answers():
        test(answer)
    assert capfd.readouterr() == ("", "")


def assert_separated(expected, causes, where):
    """The mistakes a case can name (those that do not give the answer there) all give
    different outputs, so that a failure names one of them."""
    outputs = hidden.distinct(expected, causes)
    assert outputs, f"{where} names no mistake"
    for (a, x), (b, y) in itertools.combinations(outputs.items(), 2):
        same = x.shape == y.shape and torch.allclose(x.nan_to_num(), y.nan_to_num(), rtol=1e-5,
                                                     atol=1e-7)
        assert not same, f"{where}: {a!r} and {b!r} give the same output"


@pytest.mark.parametrize("case", list(hidden.softmax_cases()))
def test_each_softmax_case_separates_its_mistakes(case):
    scores, mask, _ = hidden.softmax_cases()[case]
    causes = hidden.softmax_mistakes(scores, mask)
    assert_separated(reference.masked_softmax(scores, mask), causes, case)


@pytest.mark.parametrize("case", list(hidden.attention_cases()))
def test_each_attention_case_separates_its_mistakes(case):
    Q, K, V, mask, _ = hidden.attention_cases()[case]
    _, weights = reference.scaled_dot_product_attention(Q, K, V, mask)
    assert_separated(weights, hidden.attention_mistakes(Q, K, V, mask), case)


@pytest.mark.parametrize("case", list(hidden.additive_cases()))
def test_each_additive_case_separates_its_mistakes(case):
    seed = list(hidden.additive_cases()).index(case)
    sizes, B, Tk, dv, mask, _ = hidden.additive_cases()[case]
    weights = hidden.additive_weights(50 + 10 * seed, sizes)
    query, keys, values = hidden.additive_inputs(50 + 10 * seed, sizes, B, Tk, dv)
    module = hidden.load_weights(reference.AdditiveAttention(*sizes), weights)
    _, expected = module(query, keys, values, mask)
    assert_separated(expected.detach(), hidden.additive_mistakes(weights, query, keys, values,
                                                                 mask, None), case)


def test_the_known_attention_is_dot_product_attention():
    """The decoder's stand-in is unscaled dot-product attention: the reference's scaled one
    with the queries multiplied by sqrt(d), so the decoder is tested with a right attention."""
    torch.manual_seed(0)
    query = torch.randn(3, 4, dtype=torch.float64)
    keys = torch.randn(3, 5, 4, dtype=torch.float64)
    mask = hidden.padding_mask([5, 3, 1], 5)
    context, weights = hidden.KnownAttention(4, 4, 4)(query, keys, keys, mask)
    expected_context, expected_weights = reference.scaled_dot_product_attention(
        2 * query[:, None], keys, keys, mask[:, None])
    check_close("KnownAttention: weights", weights, expected_weights[:, 0])
    check_close("KnownAttention: context", context, expected_context[:, 0])
