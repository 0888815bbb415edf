// The op schemas, declared once for every device, and the Python module stub
// that lets `import` load the library. The list of the ops is
// torch_perceptron/ops.py's OPS; the registrations that the stable ABI cannot
// make from C++ (the Autograd fallthrough, the stand-in CUDA kernels of a
// CPU-only build) are made there, beside it.
#include <Python.h>

#include "stable.h"

STABLE_TORCH_LIBRARY(torch_perceptron, m) {
  // Net input z = x @ weight.T + bias, [N, K].
  m.def("decision_function(Tensor x, Tensor weight, Tensor bias) -> Tensor");
  // Threshold forward [z > 0] as 0/1 in x's dtype, [N, K].
  m.def("predict(Tensor x, Tensor weight, Tensor bias) -> Tensor");
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
  m.def(
      "online_update(Tensor(a!) weight, Tensor(b!) bias, Tensor x, Tensor y, "
      "float lr=1.0, Tensor? sample_weight=None, bool zero_is_mistake=False, "
      "float bias_step=1.0, Tensor(l!)? loss=None, Tensor? order=None) -> Tensor");
  // Multiclass perceptron: yhat = argmax_k z_k (lowest index wins a tie); on a
  // mistake row y gains lr*x and row yhat loses it. Returns int64 mistakes [1].
  m.def(
      "multiclass_update(Tensor(a!) weight, Tensor(b!) bias, Tensor x, "
      "Tensor y, float lr=1.0, Tensor? sample_weight=None, "
      "float bias_step=1.0) -> Tensor");
  // Mini-batch rule: errors of the whole batch under the current weights, then
  // one update w += lr * err.T @ x. Returns int64 mistakes [K].
  m.def(
      "batch_update(Tensor(a!) weight, Tensor(b!) bias, Tensor x, Tensor y, "
      "float lr=1.0, Tensor? sample_weight=None, bool zero_is_mistake=False, "
      "float bias_step=1.0) -> Tensor");
  // The averaged perceptron: online_update / multiclass_update that also keep
  // weight_acc [K, in] and bias_acc [K], changed only on a mistake, and count
  // (int64 [K], multiclass [1]: samples seen), so that the average of the
  // weights over every sample seen is weight - weight_acc / count.
  m.def(
      "online_update_averaged(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) weight_acc, Tensor(d!) bias_acc, Tensor(e!) count, "
      "Tensor x, Tensor y, float lr=1.0, Tensor? sample_weight=None, "
      "bool zero_is_mistake=False, float bias_step=1.0, "
      "Tensor(l!)? loss=None, Tensor? order=None) -> Tensor");
  m.def(
      "multiclass_update_averaged(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) weight_acc, Tensor(d!) bias_acc, Tensor(e!) count, "
      "Tensor x, Tensor y, float lr=1.0, Tensor? sample_weight=None, "
      "float bias_step=1.0) -> Tensor");
  // The pocket perceptron: online_update / multiclass_update that also keep in
  // pocket_weight / pocket_bias the weights of the longest run of correct
  // predictions; run and best_run (int64 [K], multiclass [1]) are the current
  // run and the record.
  m.def(
      "online_update_pocket(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) pocket_weight, Tensor(d!) pocket_bias, Tensor(e!) run, "
      "Tensor(f!) best_run, Tensor x, Tensor y, float lr=1.0, "
      "Tensor? sample_weight=None, bool zero_is_mistake=False, "
      "float bias_step=1.0, Tensor(l!)? loss=None, Tensor? order=None) -> Tensor");
  m.def(
      "multiclass_update_pocket(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) pocket_weight, Tensor(d!) pocket_bias, Tensor(e!) run, "
      "Tensor(f!) best_run, Tensor x, Tensor y, float lr=1.0, "
      "Tensor? sample_weight=None, float bias_step=1.0) -> Tensor");
}

// `from torch_perceptron import _C` loads this library, which runs the
// registrations above; the module itself holds nothing.
PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr,
                                          -1, nullptr};
  return PyModule_Create(&module_def);
}
