// The schemas of the sparse (CSR) ops, declared once for every device: each is
// its dense op (ops.cpp) with `Tensor x` replaced by the CSR's three dense
// tensors and the feature count, and every update op ends in bias_step (no
// fit_intercept: bias_step=0 leaves the bias alone). See docs/sparse_design.md.
//
// crow_indices [N + 1] and col_indices [nnz] share one dtype, int32 or int64;
// values [nnz] has the weights' dtype; within a row the columns strictly
// increase (canonical CSR: duplicates are summed before, by
// torch_perceptron.sparse.as_csr). n_features must equal weight.size(1); it is
// what a fake kernel states the shapes with, without data. An empty row is a
// sample whose decision value is the bias.
//
// The three online ops end in loss, as their dense ops do (ops.cpp): a float64
// [K] that gains each output's perceptron loss, |z| at a mistake (z before
// the step), in sample order, going on from what it held; and then order, as
// theirs: int64 [M] or [K, M], visit i reads CSR row order[i] (of output k:
// order[k, i]), its label and sample weight, the rows read in place.
//
// A fragment of the library rather than lines in ops.cpp: the sparse forms are
// their own group of ops, with their own files on every device.
#include "stable.h"

STABLE_TORCH_LIBRARY_FRAGMENT(torch_perceptron, m) {
  m.def(
      "decision_function_csr(Tensor crow_indices, Tensor col_indices, "
      "Tensor values, SymInt n_features, Tensor weight, Tensor bias) -> Tensor");
  m.def(
      "predict_csr(Tensor crow_indices, Tensor col_indices, Tensor values, "
      "SymInt n_features, Tensor weight, Tensor bias) -> Tensor");
  m.def(
      "online_update_csr(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor crow_indices, Tensor col_indices, Tensor values, "
      "SymInt n_features, Tensor y, float lr=1.0, Tensor? sample_weight=None, "
      "bool zero_is_mistake=False, float bias_step=1.0, "
      "Tensor(l!)? loss=None, Tensor? order=None) -> Tensor");
  m.def(
      "multiclass_update_csr(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor crow_indices, Tensor col_indices, Tensor values, "
      "SymInt n_features, Tensor y, float lr=1.0, Tensor? sample_weight=None, "
      "float bias_step=1.0) -> Tensor");
  m.def(
      "batch_update_csr(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor crow_indices, Tensor col_indices, Tensor values, "
      "SymInt n_features, Tensor y, float lr=1.0, Tensor? sample_weight=None, "
      "bool zero_is_mistake=False, float bias_step=1.0) -> Tensor");
  m.def(
      "online_update_averaged_csr(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) weight_acc, Tensor(d!) bias_acc, Tensor(e!) count, "
      "Tensor crow_indices, Tensor col_indices, Tensor values, "
      "SymInt n_features, Tensor y, float lr=1.0, Tensor? sample_weight=None, "
      "bool zero_is_mistake=False, float bias_step=1.0, "
      "Tensor(l!)? loss=None, Tensor? order=None) -> Tensor");
  m.def(
      "multiclass_update_averaged_csr(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) weight_acc, Tensor(d!) bias_acc, Tensor(e!) count, "
      "Tensor crow_indices, Tensor col_indices, Tensor values, "
      "SymInt n_features, Tensor y, float lr=1.0, Tensor? sample_weight=None, "
      "float bias_step=1.0) -> Tensor");
  m.def(
      "online_update_pocket_csr(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) pocket_weight, Tensor(d!) pocket_bias, Tensor(e!) run, "
      "Tensor(f!) best_run, Tensor crow_indices, Tensor col_indices, "
      "Tensor values, SymInt n_features, Tensor y, float lr=1.0, "
      "Tensor? sample_weight=None, bool zero_is_mistake=False, "
      "float bias_step=1.0, Tensor(l!)? loss=None, Tensor? order=None) -> Tensor");
  m.def(
      "multiclass_update_pocket_csr(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) pocket_weight, Tensor(d!) pocket_bias, Tensor(e!) run, "
      "Tensor(f!) best_run, Tensor crow_indices, Tensor col_indices, "
      "Tensor values, SymInt n_features, Tensor y, float lr=1.0, "
      "Tensor? sample_weight=None, float bias_step=1.0) -> Tensor");
}
