"""The hidden checks of 05_overfitting_regularization pass the reference and correct answers
written differently, fail each known mistake with a message that names it, and fail an
answer that delegates to the reference."""


import numpy as np
import pytest
import torch

import helpers.hidden.overfitting_regularization as hidden
import helpers.reference as reference
import tests.wrong_answers.overfitting_regularization as answers
from tests.hidden_suite import assert_names_mistake, assert_random_streams_untouched, assert_sealed

CHECKS = {
    "standardize": hidden.check_standardize,
    "dropout_forward": hidden.check_dropout_forward,
    "l1_penalty": hidden.check_l1_penalty,
    "l2_penalty": hidden.check_l2_penalty,
    "elastic_net_penalty": hidden.check_elastic_net_penalty,
    "sgd_step_weight_decay": hidden.check_sgd_step_weight_decay,
    "EarlyStopping": hidden.check_EarlyStopping,
    "ensemble_predict": hidden.check_ensemble_predict,
}

CORRECT = [
    "standardize__np_divide_where",
    "standardize__manual_formula",
    "dropout_forward__binomial",
    "dropout_forward__torch_dropout",
    "l1_penalty__stacked",
    "l1_penalty__norm1",
    "l2_penalty__stacked",
    "l2_penalty__squared_norms",
    "elastic_net_penalty__own_terms",
    "sgd_step_weight_decay__shrink_factor",
    "EarlyStopping__deepcopy",
    "ensemble_predict__stacked_mean",
    "ensemble_predict__running_sum",
]

# (wrong answer, words its failure message must contain)
WRONG = [
    ("standardize__other_stats", "computed from X_other instead of X_train"),
    ("standardize__both_sets", "computed from both sets together"),
    ("standardize__own_stats", "each set was standardised with its own statistics"),
    ("standardize__ddof1", "ddof=1"),
    pytest.param("standardize__divide_by_zero", "dividing by it gives 0/0",
                 marks=pytest.mark.filterwarnings("ignore::RuntimeWarning")),
    ("standardize__not_centred", "not centred"),
    ("standardize__constant_left_alone", "constant feature was left as it was"),
    ("standardize__in_place", "modified its argument"),
    ("dropout_forward__no_rescale", "without the rescaling by 1 / (1 - p)"),
    ("dropout_forward__keep_p", "p was used as the keep probability"),
    ("dropout_forward__keep_p_scaled_right", "p was used as the keep probability"),
    ("dropout_forward__active_in_eval", "dropout is active in evaluation"),
    ("dropout_forward__vanilla", "non-inverted dropout"),
    ("dropout_forward__global_rng", "instead of the given rng"),
    ("dropout_forward__in_place", "modified its argument"),
    ("dropout_forward__no_p_check", "should raise ValueError"),
    ("l1_penalty__no_abs", "without abs()"),
    ("l1_penalty__mean", "the mean of |w|"),
    ("l1_penalty__python_float", "cannot be differentiated"),
    ("l1_penalty__detached", "detached from the weights"),
    ("l1_penalty__numpy", "detached from the weights"),
    ("l2_penalty__norm", "the norm sqrt(sum w^2) instead of its square"),
    ("l2_penalty__half", "a factor 1/2"),
    ("l2_penalty__sum_of_norms", "sum of the per-tensor norms"),
    ("l2_penalty__python_float", "cannot be differentiated"),
    ("l2_penalty__data", "detached from the weights"),
    ("elastic_net_penalty__swapped", "l1 and l2 swapped"),
    ("elastic_net_penalty__no_l1", "the L1 term is missing"),
    ("elastic_net_penalty__l2_norm", "the norm instead of its square"),
    ("elastic_net_penalty__no_check", "should raise ValueError"),
    ("sgd_step_weight_decay__sign_error", "a sign error"),
    ("sgd_step_weight_decay__no_lr_on_decay", "not multiplied by the learning rate"),
    ("sgd_step_weight_decay__decay_after_step", "applied after the step"),
    ("sgd_step_weight_decay__twice_decay", "the decay is 2 * wd * w"),
    ("sgd_step_weight_decay__in_place", "modified its argument"),
    ("EarlyStopping__state_reference", "the model's live weights"),
    ("EarlyStopping__shallow_copy", "the model's live weights"),
    ("EarlyStopping__saves_every_call", "saved at every call"),
    ("EarlyStopping__less_equal", "<= instead of <"),
    ("EarlyStopping__no_min_delta", "min_delta is ignored"),
    ("EarlyStopping__patience_early", "one call too early"),
    ("EarlyStopping__patience_late", "one call too late"),
    ("EarlyStopping__one_based", "counts from 1"),
    ("EarlyStopping__no_check", "should raise ValueError"),
    ("ensemble_predict__mean_logits", "the logits were averaged, then passed through softmax"),
    ("ensemble_predict__votes", "argmax votes"),
    ("ensemble_predict__no_eval", "model.eval() was not called"),
    ("ensemble_predict__with_grad", "computed with gradients on"),
    ("ensemble_predict__softmax_dim0", "softmax over the wrong dimension"),
    ("ensemble_predict__log_probs", "log-probabilities were averaged"),
    ("ensemble_predict__last_model", "only the last model"),
]


def graded_name(answer):
    return answer.split("__")[0]


def test_every_graded_name_has_a_check_and_mistakes():
    wrong = {graded_name(getattr(row, "values", row)[0]) for row in WRONG}
    assert set(CHECKS) == wrong == {graded_name(a) for a in CORRECT}


@pytest.mark.parametrize("name", CHECKS)
def test_reference_passes(name, seal_lifted):
    CHECKS[name](getattr(reference, name))


@pytest.mark.parametrize("answer", CORRECT)
def test_correct_variant_passes(answer):
    CHECKS[graded_name(answer)](getattr(answers, answer))


@pytest.mark.parametrize(("answer", "phrase"), WRONG)
def test_mistake_is_named(answer, phrase):
    assert_names_mistake(CHECKS[graded_name(answer)], getattr(answers, answer), phrase)


@pytest.mark.parametrize("name", CHECKS)
def test_delegating_to_the_reference_fails(name):
    assert_sealed(CHECKS[name], getattr(answers, f"{name}__reference"))


def test_sgd_oracle_is_torch_and_agrees_with_the_reference():
    rng = np.random.default_rng(5)
    w, grad = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    np.testing.assert_allclose(hidden.torch_sgd_step(w, grad, 0.3, 0.1),
                               reference.sgd_step_weight_decay(w, grad, 0.3, 0.1), rtol=1e-12)


def test_dropout_check_accepts_torch_dropout_statistics():
    """nn.Dropout's mask is what the check's properties describe: values 0 or 1/(1-p)."""
    mask = torch.nn.Dropout(0.25)(torch.ones(2000, dtype=torch.float64)).numpy()
    assert set(np.unique(mask)) <= {0.0, 1 / 0.75}


def test_checks_are_silent(capsys, seal_lifted):
    for name, check in CHECKS.items():
        check(getattr(reference, name))
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


def test_checks_leave_the_global_generators_alone(seal_lifted):
    assert_random_streams_untouched(
        lambda: hidden.check_dropout_forward(reference.dropout_forward),
        lambda: hidden.check_ensemble_predict(reference.ensemble_predict))
