"""Reference answers: one implementation of every graded name in EXERCISES.md.

This is the instructor's truth that hidden tests compare against. Each module
holds one notebook's exercises; every function here is proven against PyTorch
or finite differences in ``tests/test_reference_*.py``.
"""

from helpers.reference.attention import (
    AdditiveAttention,
    AttentionDecoder,
    masked_softmax,
    scaled_dot_product_attention,
)
from helpers.reference.gru_equations import gru_dh_dhprev_scalar, gru_step_scalar
from helpers.reference.gru_numpy import (
    GRU_KEYS,
    gru_backward,
    gru_cell_backward,
    gru_cell_forward,
    gru_forward,
    init_gru_params,
)
from helpers.reference.gru_pytorch import GRU, GRUCell, gru_params_to_torch, train_epoch
from helpers.reference.overfitting_regularization import (
    EarlyStopping,
    dropout_forward,
    elastic_net_penalty,
    ensemble_predict,
    l1_penalty,
    l2_penalty,
    sgd_step_weight_decay,
    standardize,
)
from helpers.reference.vanishing_exploding_gradients import (
    clip_grad_norm,
    layer_grad_norms,
    make_mlp,
    rnn_jacobian_norms,
    sigmoid,
    sigmoid_derivative,
)

__all__ = [
    "AdditiveAttention",
    "AttentionDecoder",
    "GRU",
    "GRUCell",
    "GRU_KEYS",
    "EarlyStopping",
    "clip_grad_norm",
    "dropout_forward",
    "elastic_net_penalty",
    "ensemble_predict",
    "gru_backward",
    "gru_cell_backward",
    "gru_cell_forward",
    "gru_dh_dhprev_scalar",
    "gru_forward",
    "gru_params_to_torch",
    "gru_step_scalar",
    "init_gru_params",
    "l1_penalty",
    "l2_penalty",
    "layer_grad_norms",
    "make_mlp",
    "masked_softmax",
    "rnn_jacobian_norms",
    "scaled_dot_product_attention",
    "sgd_step_weight_decay",
    "sigmoid",
    "sigmoid_derivative",
    "standardize",
    "train_epoch",
]
