// The op schemas, declared once for every device, and the Python module stub
// that lets `import` load the library. The Python op table
// (torch_perceptron.ops) lists the same ops; the registrations that the
// stable ABI cannot make from C++ (the Autograd fallthrough, the stand-in
// CUDA kernels of a CPU-only build) are made there, beside it.
//
// Every op of dense x has its CSR twin right after it: `Tensor x` replaced by
// the CSR's three dense tensors and the feature count. crow_indices [N + 1]
// and col_indices [nnz] share one dtype, int32 or int64; values [nnz] has the
// weights' dtype; within a row the columns strictly increase (canonical CSR:
// duplicates are summed before, by torch_perceptron.sparse.as_csr).
// n_features must equal weight.size(1); it is what a fake kernel states the
// shapes with, without data. An empty row is a sample whose decision value
// is the bias. The twins take the same arguments after x, with the same
// meaning (docs/sparse_design.md).
#include <Python.h>

#include "stable.h"

// The pieces the schemas share, so that each argument is written once: the
// written weights, x dense or CSR, a variant's state, and each rule's
// arguments after x (its tail, which operands.h's OnlineTail and
// MulticlassTail take). Adjacent literals: each schema is one string.
#define WEIGHTS "Tensor(a!) weight, Tensor(b!) bias, "
#define X_DENSE "Tensor x, "
#define X_CSR "Tensor crow_indices, Tensor col_indices, Tensor values, SymInt n_features, "
#define AVERAGED "Tensor(c!) weight_acc, Tensor(d!) bias_acc, Tensor(e!) count, "
#define POCKET                                                         \
  "Tensor(c!) pocket_weight, Tensor(d!) pocket_bias, Tensor(e!) run, " \
  "Tensor(f!) best_run, "
#define ONLINE_TAIL                                                          \
  "Tensor y, float lr=1.0, Tensor? sample_weight=None, "                     \
  "bool zero_is_mistake=False, float bias_step=1.0, Tensor(l!)? loss=None, " \
  "Tensor? order=None) -> Tensor"
#define MULTICLASS_TAIL \
  "Tensor y, float lr=1.0, Tensor? sample_weight=None, float bias_step=1.0) -> Tensor"
#define BATCH_TAIL                                       \
  "Tensor y, float lr=1.0, Tensor? sample_weight=None, " \
  "bool zero_is_mistake=False, float bias_step=1.0) -> Tensor"
#define PENALIZED_TAIL                                                       \
  "Tensor y, float lr=1.0, float alpha=0.0001, float l1_ratio=0.15, "        \
  "Tensor? sample_weight=None, bool zero_is_mistake=False, "                 \
  "float bias_step=1.0, Tensor(l!)? loss=None, Tensor(o!)? objective=None, " \
  "Tensor? order=None) -> Tensor"
#define PENALTY_STATE "Tensor(c!) state, Tensor(d!)? q, "

STABLE_TORCH_LIBRARY(torch_perceptron, m) {
  // Net input z = x @ weight.T + bias, [N, K].
  m.def("decision_function(Tensor x, Tensor weight, Tensor bias) -> Tensor");
  m.def(
      "decision_function_csr(Tensor crow_indices, Tensor col_indices, "
      "Tensor values, SymInt n_features, Tensor weight, Tensor bias) -> Tensor");
  // Threshold forward [z > 0] as 0/1 in x's dtype, [N, K].
  m.def("predict(Tensor x, Tensor weight, Tensor bias) -> Tensor");
  m.def(
      "predict_csr(Tensor crow_indices, Tensor col_indices, Tensor values, "
      "SymInt n_features, Tensor weight, Tensor bias) -> Tensor");
  // The online rule, one sample after the other, each of the K outputs on its
  // own: err = y - [z > 0]; w += lr*err*x; b += lr*err. Returns int64 mistakes
  // [K]. zero_is_mistake counts z == 0 as a mistake for either label
  // (scikit-learn's y*z <= 0 with y in {-1, +1}). Every update op takes
  // bias_step (last), which scales the bias's step: b += bias_step * step.
  // 1 is the textbook rule; 0 leaves the bias as it is (scikit-learn's
  // fit_intercept=False); scikit-learn's SGD damps it by 0.01 on sparse input.
  // The three online ops take loss (last): a float64 [K] that gains each
  // output's sum of max(0, -(2y - 1) * z) over the call's samples, z before
  // the sample's step, added in sample order (scikit-learn's perceptron loss,
  // what its tol rule stops on: |z| at a mistake, 0 otherwise). Chunked calls
  // add up to the one call's sum, bit for bit.
  // They take order (last): int64 [M] or [K, M], the rows of x, y and
  // sample_weight that the call visits, in turn (one order for all outputs,
  // or output o visiting order[o]); as if called with x[order], y[order],
  // sample_weight[order], without the copies. Checked before any write: every
  // entry in [0, N).
  m.def("online_update(" WEIGHTS X_DENSE ONLINE_TAIL);
  m.def("online_update_csr(" WEIGHTS X_CSR ONLINE_TAIL);
  // Multiclass perceptron: yhat = argmax_k z_k (lowest index wins a tie); on a
  // mistake row y gains lr*x and row yhat loses it. Returns int64 mistakes [1].
  m.def("multiclass_update(" WEIGHTS X_DENSE MULTICLASS_TAIL);
  m.def("multiclass_update_csr(" WEIGHTS X_CSR MULTICLASS_TAIL);
  // Mini-batch rule: errors of the whole batch under the current weights, then
  // one update w += lr * err.T @ x. Returns int64 mistakes [K].
  m.def("batch_update(" WEIGHTS X_DENSE BATCH_TAIL);
  m.def("batch_update_csr(" WEIGHTS X_CSR BATCH_TAIL);
  // The averaged perceptron: online_update / multiclass_update that also keep
  // weight_acc [K, in] and bias_acc [K], changed only on a mistake, and count
  // (int64 [K], multiclass [1]: samples seen), so that the average of the
  // weights over every sample seen is weight - weight_acc / count.
  m.def("online_update_averaged(" WEIGHTS AVERAGED X_DENSE ONLINE_TAIL);
  m.def("online_update_averaged_csr(" WEIGHTS AVERAGED X_CSR ONLINE_TAIL);
  m.def("multiclass_update_averaged(" WEIGHTS AVERAGED X_DENSE MULTICLASS_TAIL);
  m.def("multiclass_update_averaged_csr(" WEIGHTS AVERAGED X_CSR MULTICLASS_TAIL);
  // The pocket perceptron: online_update / multiclass_update that also keep in
  // pocket_weight / pocket_bias the weights of the longest run of correct
  // predictions; run and best_run (int64 [K], multiclass [1]) are the current
  // run and the record.
  m.def("online_update_pocket(" WEIGHTS POCKET X_DENSE ONLINE_TAIL);
  m.def("online_update_pocket_csr(" WEIGHTS POCKET X_CSR ONLINE_TAIL);
  m.def("multiclass_update_pocket(" WEIGHTS POCKET X_DENSE MULTICLASS_TAIL);
  m.def("multiclass_update_pocket_csr(" WEIGHTS POCKET X_CSR MULTICLASS_TAIL);
  // online_update_penalized is online_update with scikit-learn's penalty,
  // alpha and l1_ratio: at every sample the weights shrink by
  // max(0, 1 - (1 - l1_ratio) * lr * alpha) (L2) and, with l1_ratio > 0, the
  // truncated-gradient L1 step (cumulative u and q), as scikit-learn's
  // `_plain_sgd` does. l1_ratio 0 is its "l2", 1 its "l1", between "elasticnet".
  //
  // `weight` holds the weights before the scale: the true weights are
  // state[:, 0:1] * weight. `state` (float64 [K, 4]: wscale, u, sq_norm,
  // l1_norm) and `q` ([K, in] in weight's dtype; required when l1_ratio > 0) are
  // what scikit-learn keeps across the samples and epochs of one fit; a fresh
  // fit starts them at (1, 0, |w|^2, |w|_1) and zeros, and folds the scale in at
  // its end (torch_perceptron.ops.fold_penalty_scale_). `loss` gains the
  // perceptron loss max(0, -y z) of every sample (as online_update's),
  // `objective` scikit-learn's objective sum: that loss plus
  // alpha * ((1 - l1_ratio) * 0.5 * norm^2 + l1_ratio * l1norm) with its
  // bookkeeping's norms, what its tol rule stops on with a penalty. `order`
  // (int64 [M] or [K, M]) as online_update's: visit i of output o reads row
  // order[o][i] of x, y and sample_weight, so that a shuffled epoch of every
  // one-vs-rest output is one call, with no rows gathered.
  m.def("online_update_penalized(" WEIGHTS PENALTY_STATE X_DENSE PENALIZED_TAIL);
  m.def("online_update_penalized_csr(" WEIGHTS PENALTY_STATE X_CSR PENALIZED_TAIL);
}

#undef WEIGHTS
#undef X_DENSE
#undef X_CSR
#undef AVERAGED
#undef POCKET
#undef ONLINE_TAIL
#undef MULTICLASS_TAIL
#undef BATCH_TAIL
#undef PENALIZED_TAIL
#undef PENALTY_STATE

// `from torch_perceptron import _C` loads this library, which runs the
// registrations above; the module itself holds nothing.
PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
