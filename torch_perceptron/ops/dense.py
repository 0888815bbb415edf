"""The dense ops: ``x [N, in]`` a tensor in the weights' dtype.

None of them records an autograd graph. The update ops change ``weight`` and
``bias`` (and the variants' state) in place, bump the version counter of every
tensor they change, as PyTorch's in-place ops do, and return a new int64
tensor of mistakes. Shapes: ``x [N, in]``, ``weight [K, in]``, ``bias [K]``;
``weight``, ``bias`` and ``x`` share one dtype (float32 or float64) and one
device.
"""

from .table import declare

decision_function = declare(
    "decision_function",
    """\
Net input ``z = x @ weight.T + bias``, ``[N, K]`` in x's dtype.""",
)

predict = declare(
    "predict",
    """\
Threshold forward ``[z > 0]``: 0/1 predictions ``[N, K]`` in x's dtype.""",
)

online_update = declare(
    "online_update",
    """\
The online rule, in place, one sample after the other.

For each sample ``i`` in order and each output ``k`` on its own:
``err = y[i, k] - [z > 0]``, ``weight[k] += lr * err * x[i]``,
``bias[k] += lr * err``. ``y`` holds 0/1 labels, ``[N]`` or ``[N, 1]`` for
K = 1, ``[N, K]`` for K outputs (one-vs-rest). ``sample_weight [N]`` scales
each sample's step. ``zero_is_mistake`` counts ``z == 0`` as a mistake for
either label (scikit-learn's ``y * z <= 0`` with y in {-1, +1}).
``bias_step`` scales the bias's step, ``bias[k] += (lr * err) * bias_step``
(every update op takes it): 1 is the rule above, 0 leaves ``bias`` as it is
(scikit-learn's ``fit_intercept=False``), scikit-learn damps it by 0.01 on
sparse input. It must be finite.

``loss`` (float64 ``[K]``, on weight's device; every online op takes it)
gains each output's perceptron loss over the samples, scikit-learn's
``sum max(0, -(2 y - 1) * z)`` with ``z`` taken before the sample's step:
``|z|`` at a mistake, 0 otherwise, unweighted by ``sample_weight``, added
in sample order in float64. What it holds is the start of the sum, so the
calls over an epoch's chunks add up to the epoch's loss, bit for bit as one
call. None: not computed.

``order`` (int64, on weight's device; every online op takes it) is the
sequence of samples the call visits, each an index into the rows of
``x``, ``y`` and ``sample_weight`` (all three read through it, so they
stay in the data's order): ``[M]`` for one order that every output
follows, ``[K, M]`` for one per output (output k visits
``order[k, 0], order[k, 1], ...``). The call is the call with
``x[order]``, ``y[order]``, ``sample_weight[order]`` (per output for
``[K, M]``), bit for bit, without gathering them: mistakes and ``loss``
count the M visits. Every entry must lie in ``[0, N)``; that is checked
before any write. None: the rows in order, once each.

Returns the mistakes per output, int64 ``[K]``.""",
)

multiclass_update = declare(
    "multiclass_update",
    """\
The multiclass perceptron rule, in place, one sample after the other.

``yhat = argmax_k z_k`` (the lowest index wins a tie); on a mistake
``weight[y] += lr * x``, ``bias[y] += lr``, ``weight[yhat] -= lr * x``,
``bias[yhat] -= lr`` (the bias's step scaled by ``bias_step``, as in the
online rule). ``y`` holds class indices ``[N]`` in ``[0, K)``.

Returns the number of mistakes, int64 ``[1]``.""",
)

batch_update = declare(
    "batch_update",
    """\
The mini-batch rule, in place: the errors of the whole batch under the
current weights, then one step ``weight += lr * err.T @ x``,
``bias += (lr * err.sum(0)) * bias_step``. Labels and ``bias_step`` as in
the online rule.

Returns the mistakes per output, int64 ``[K]``.""",
)

online_update_averaged = declare(
    "online_update_averaged",
    """\
The online rule that also keeps the running average of the weights (the
averaged perceptron, Freund & Schapire 1999), in place.

``weight_acc [K, in]`` and ``bias_acc [K]`` (weight's dtype and device) gain
``c * step * x`` and ``c * step`` on a mistake of output k at its sample
number ``c + 1``, and nothing on a correct prediction; ``count`` (int64
``[K]``) is the number of samples each output has seen, and grows by N
(by M, the visits, with ``order``: c counts visits).
Start them at zero together with the weights; then
:func:`averaged_parameters` gives the mean of the weights after each sample
seen, over every call since. ``bias_acc`` follows the bias's own step
(scaled by ``bias_step``; ``bias_step=0`` leaves ``bias`` and ``bias_acc``
as they are). Arguments otherwise as in the online rule, ``loss`` the sums
of the weights the rule runs on (not the average's).

Returns the mistakes per output, int64 ``[K]``.""",
)

multiclass_update_averaged = declare(
    "multiclass_update_averaged",
    """\
The multiclass rule that also keeps the running average of the weights, as
the online averaged op does; ``count`` is int64 ``[1]``.

Returns the number of mistakes, int64 ``[1]``.""",
)

online_update_pocket = declare(
    "online_update_pocket",
    """\
The online rule that also keeps, per output, the pocket (Gallant 1990):
the weights that made the longest run of consecutive correct predictions,
in place.

``pocket_weight [K, in]`` and ``pocket_bias [K]`` (weight's dtype and
device) hold those weights; ``run`` and ``best_run`` (int64 ``[K]``) the
length of the current run and of the record. A run that beats the record
(strictly) puts its weights in the pocket. All of them persist across calls:
start with the pocket equal to the weights and both counters at zero.
``sample_weight`` scales the steps only; a run counts samples.
``bias_step``, ``loss`` (of the weights the rule runs on, not the
pocket's) and ``order`` (a run counts visits) as in the online rule.

Returns the mistakes per output, int64 ``[K]``.""",
)

multiclass_update_pocket = declare(
    "multiclass_update_pocket",
    """\
The multiclass rule that also keeps the pocket of the whole model (all K
rows), as the online pocket op does; ``run`` and ``best_run`` are int64
``[1]``.

Returns the number of mistakes, int64 ``[1]``.""",
)
