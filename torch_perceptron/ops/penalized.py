"""The penalized online ops (scikit-learn's ``penalty`` "l2", "l1",
"elasticnet"), dense and CSR.

scikit-learn keeps a penalized model's weights as ``wscale * w`` and rounds
every step through that scale, across every epoch of one fit; the ops do the
same, so ``weight`` holds ``w`` and ``state[:, 0]`` the scale: start a fit with
:func:`penalty_state` (and zeros for ``q``), call the op per epoch or per
chunk, and end it with :func:`fold_penalty_scale_`, which leaves the true
weights in ``weight`` as scikit-learn's ``reset_wscale`` does.
"""

from .table import declare

online_update_penalized = declare(
    "online_update_penalized",
    """\
The online rule with scikit-learn's penalty, in place, one sample after
the other, each of the K outputs on its own, in scikit-learn's order:

``p = (x[i] . weight[k]) * wscale + bias[k]``; then the weights shrink,
``wscale *= max(0, 1 - (1 - l1_ratio) * lr * alpha)`` (folded into
``weight`` once below 1e-9, float32 1e-6); on a mistake (as in the plain
online rule, ``step = lr * err * sample_weight[i]``) ``weight[k] += x[i] *
(step / wscale)`` and ``bias[k] += step * bias_step``; with ``l1_ratio > 0``
every weight of the sample's entries moves towards 0 by its unpaid share of
``u += l1_ratio * lr * alpha`` (``q`` holds what each has paid). l1_ratio 0
is "l2", 1 "l1".

Shapes: ``weight [K, in]`` (the weights before the scale), ``bias [K]``,
``state`` float64 ``[K, 4]`` (wscale, u, sq_norm, l1_norm: see
:func:`penalty_state`), ``q [K, in]`` in weight's dtype (None allowed when
l1_ratio is 0), ``x [N, in]``, ``y`` 0/1 ``[N]``/``[N, 1]`` (K = 1) or
``[N, K]``. ``loss`` and ``objective`` (float64 ``[K]``, optional) gain
each output's perceptron loss and scikit-learn's objective sum (the loss
plus ``alpha * ((1 - l1_ratio) / 2 * norm^2 + l1_ratio * l1norm)`` with
its bookkeeping's norms), in sample order. ``order`` (int64 ``[M]``, or
``[K, M]`` for one per output) as in the plain online rule: the call with
``x[order]``, ``y[order]`` and ``sample_weight[order]``, read in place.
Every tensor on one device.

Returns the mistakes per output, int64 ``[K]``.""",
)

online_update_penalized_csr = declare(
    "online_update_penalized_csr",
    """\
The penalized rule over the rows of a canonical CSR ``x``: a sample's
entries are its stored ones (explicit zeros included), so the step, the L1
step and the norms' bookkeeping touch only those columns, as scikit-learn's
loop does on sparse X; the shrink scales every weight. ``order`` reads CSR
rows as it reads dense ones.

Returns the mistakes per output, int64 ``[K]``.""",
)
