"""The sparse (CSR) ops: the dense ops' rules over the rows of a CSR ``x``.

Each takes ``x`` ``[N, in_features]`` as canonical CSR: ``crow_indices``
``[N + 1]`` and ``col_indices`` ``[nnz]`` of one dtype (int32 or int64),
``values`` ``[nnz]`` of the weights' dtype, the columns of each row strictly
increasing (duplicates summed: :func:`torch_perceptron.sparse.as_csr` makes any
sparse input so), and ``n_features``, which must equal ``weight.shape[1]``.
Non-contiguous tensors are accepted. An empty row is a sample whose decision
value is the bias. A sample's dot product and update touch only its non-zeros:
the cost of a call grows with nnz, never with ``N * in_features``, and no dense
copy of ``x`` is made.

Every input is validated (columns in range and increasing, values finite,
labels, ...) before the weights are changed: a rejected call leaves them bit
for bit as they were, and the error names the argument. The update ops'
``bias_step`` as the dense ones': 1 the textbook rule, 0 the bias stays,
:data:`torch_perceptron.reference.SPARSE_INTERCEPT_DECAY` scikit-learn's
damping of the intercept on sparse input.
"""

from .table import declare

decision_function_csr = declare(
    "decision_function_csr",
    """\
Net input ``z = x @ weight.T + bias`` of a CSR ``x``, ``[N, K]`` in the
weights' dtype.""",
)

predict_csr = declare(
    "predict_csr",
    """\
Threshold forward ``[z > 0]`` of a CSR ``x``: 0/1 ``[N, K]`` in the
weights' dtype.""",
)

online_update_csr = declare(
    "online_update_csr",
    """\
The online rule over the rows of a CSR ``x``, in place: on a mistake of
output k at sample i, ``weight[k, cols_i] += step * values_i`` and
``bias[k] += bias_step * step`` with ``step = lr * sample_weight[i] * err``.
``y`` 0/1 ``[N]`` / ``[N, 1]`` (K = 1) or ``[N, K]``. ``loss`` (float64
``[K]``) gains each output's perceptron loss over the samples as the dense
op sums it: ``|z|`` at a mistake, z before the step, in sample order.
``order`` (int64 ``[M]`` or ``[K, M]``) as the dense op takes it: visit i
reads CSR row ``order[i]`` (of output k: ``order[k, i]``) and its label and
sample weight in place, bit for bit the call on the gathered rows.

Returns the mistakes per output, int64 ``[K]``.""",
)

multiclass_update_csr = declare(
    "multiclass_update_csr",
    """\
The multiclass rule over the rows of a CSR ``x``, in place; ``y`` class
indices ``[N]``.

Returns the number of mistakes, int64 ``[1]``.""",
)

batch_update_csr = declare(
    "batch_update_csr",
    """\
The mini-batch rule on a CSR ``x``, in place: every error under the
current weights, then their steps.

Returns the mistakes per output, int64 ``[K]``.""",
)

online_update_averaged_csr = declare(
    "online_update_averaged_csr",
    """\
The online averaged rule over the rows of a CSR ``x``: a mistake adds to
``weight_acc`` only at the sample's non-zeros.
:func:`averaged_parameters` gives the average. ``loss`` and ``order``
(``count`` counts the visits) as in the online CSR op.

Returns the mistakes per output, int64 ``[K]``.""",
)

multiclass_update_averaged_csr = declare(
    "multiclass_update_averaged_csr",
    """\
The multiclass averaged rule over the rows of a CSR ``x``; ``count`` int64
``[1]``.

Returns the number of mistakes, int64 ``[1]``.""",
)

online_update_pocket_csr = declare(
    "online_update_pocket_csr",
    """\
The online pocket rule over the rows of a CSR ``x``; ``loss`` (of the
weights the rule runs on, not the pocket's) and ``order`` (a run counts
visits) as in the online CSR op.

Returns the mistakes per output, int64 ``[K]``.""",
)

multiclass_update_pocket_csr = declare(
    "multiclass_update_pocket_csr",
    """\
The multiclass pocket rule over the rows of a CSR ``x``; ``run`` and
``best_run`` int64 ``[1]``.

Returns the number of mistakes, int64 ``[1]``.""",
)
