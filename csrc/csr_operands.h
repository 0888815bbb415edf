// The validated operands of one call of a sparse (CSR) update op, shared by
// every device's kernels, as operands.h is for the dense ops: the same checks
// in the same order (csr_checks.h); restore.h undoes what a call wrote when
// its kernel stops at a bad row.
#pragma once

#include <cstring>
#include <initializer_list>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "checks.h"
#include "csr_checks.h"
#include "csr_rows.h"
#include "operands.h"

namespace torch_perceptron {

// What every sparse update op takes beside its labels.
struct CsrOperands {
  Tensor weight, bias;  // the caller's tensors
  Tensor w, b, mistakes;
  CsrInput x;
  std::optional<Tensor> sw;
  int64_t n, in, k;
  double lr, bias_step;
  // > 0: w is the caller's weight itself, the transpose of a [in, fm_stride]
  // tensor (feature-major), which the CPU's plain online and multiclass rules
  // update in place (cpu/csr_online_loop.h); 0: w is [K, in] and contiguous.
  int64_t fm_stride = 0;
  // Whether the plain rule's call asks for the caller's feature-major
  // weights as they are (the constructor's feature_major_ok; the CPU's calls
  // then choose their layout, cpu/csr_online_loop.h).
  static constexpr bool kKeepsFeatureMajor = false;

  CsrOperands(Tensor& weight_, Tensor& bias_, const Tensor& crow, const Tensor& col,
              const Tensor& values, int64_t n_features, double lr_, double bias_step_)
      : weight(weight_), bias(bias_), lr(lr_), bias_step(bias_step_) {
    check_params(weight, bias, /*values=*/false);
    x = check_csr(crow, col, values, n_features, weight);
    check_lr(lr);
    check_bias_step(bias_step);
    n = x.n;
    in = x.features;
    k = weight.size(0);
  }

  // After the labels: the sample weights, the kernel's contiguous weights
  // (or, where the kernel takes them so, the caller's feature-major ones).
  void finish_setup(const std::optional<Tensor>& sample_weight, int64_t counters,
                    bool feature_major_ok = false) {
    sw = sample_weights(sample_weight, n, weight.scalar_type(), weight.device());
    if (feature_major_ok && k >= 2 && !weight.is_contiguous() && weight.stride(0) == 1 &&
        weight.stride(1) >= k) {
      fm_stride = weight.stride(1);
      w = weight;
    } else {
      w = as_contiguous(weight);
    }
    b = as_contiguous(bias);
    mistakes = zeros({counters}, ScalarType::Long, weight.device());
  }

  template <typename scalar_t, typename index_t>
  CsrRows<scalar_t, index_t> rows() const {
    return {x.crow.const_data_ptr<index_t>(), x.col.const_data_ptr<index_t>(),
            x.values.const_data_ptr<scalar_t>(), x.n, in};
  }

  // Writes the kernel's copies back into non-contiguous weight and bias.
  void finish() {
    if (fm_stride == 0 && !weight.is_contiguous()) copy_into(weight, w);
    if (!bias.is_contiguous()) copy_into(bias, b);
  }

  // What the kernel writes beside weight, bias and a variant's state (see
  // run_restoring): nothing but for the online rule's loss.
  void add_written(std::vector<StatePair>&) {}

  // How a failed call is undone (restore.h): the devices' calls that can do
  // better than a snapshot say so.
  Restore restore_plan() const { return Restore::kSnapshot; }
  Journal journal;
  // After the undo: non-finite weights stopped the loop, or else the row.
  [[noreturn]] void fail(int64_t row) const {
    check_params_finite(weight, bias);
    fail_csr_row(x, row);
  }
};

// crow_indices, col_indices, values, n_features: a CSR op's x.
using CsrXArgs = OpArgs<const Tensor&, const Tensor&, const Tensor&, int64_t>;

struct CsrOnlineOperands : CsrOperands, OnlineRuleOperands {
  // x (CSR), y, then the rule's tail (operands.h).
  using Args = CatArgs<CsrXArgs, OpArgs<const Tensor&>, OnlineTail::Args>::type;
  using PlainPolicy = NoPolicy;
  using OnlineRuleOperands::add_written;

  template <typename... A, IfTail<OnlineTail, A...> = 0>
  CsrOnlineOperands(Tensor& weight_, Tensor& bias_, const Tensor& crow, const Tensor& col,
                    const Tensor& values, int64_t n_features, const Tensor& y_, A&&... tail)
      : CsrOnlineOperands(std::in_place, OnlineTail(std::forward<A>(tail)...), weight_, bias_, crow,
                          col, values, n_features, y_) {}

  CsrOnlineOperands(std::in_place_t, const OnlineTail& t, Tensor& weight_, Tensor& bias_,
                    const Tensor& crow, const Tensor& col, const Tensor& values, int64_t n_features,
                    const Tensor& y_)
      : CsrOperands(weight_, bias_, crow, col, values, n_features, t.lr, t.bias_step) {
    take_labels(y_, n, k, weight.scalar_type(), weight.device());
    finish_setup(t.sample_weight, k, t.feature_major_ok);
    n = take_rest(t, x.n, k, weight.device());
  }
};

struct CsrMulticlassOperands : CsrOperands {
  // x (CSR), y, then the rule's tail (operands.h).
  using Args = CatArgs<CsrXArgs, OpArgs<const Tensor&>, MulticlassTail::Args>::type;
  using PlainPolicy = NoMulticlassPolicy;
  Tensor y;  // [N] int64 class indices

  template <typename... A, IfTail<MulticlassTail, A...> = 0>
  CsrMulticlassOperands(Tensor& weight_, Tensor& bias_, const Tensor& crow, const Tensor& col,
                        const Tensor& values, int64_t n_features, const Tensor& y_, A&&... tail)
      : CsrMulticlassOperands(std::in_place, MulticlassTail(std::forward<A>(tail)...), weight_,
                              bias_, crow, col, values, n_features, y_) {}

  CsrMulticlassOperands(std::in_place_t, const MulticlassTail& t, Tensor& weight_, Tensor& bias_,
                        const Tensor& crow, const Tensor& col, const Tensor& values,
                        int64_t n_features, const Tensor& y_)
      : CsrOperands(weight_, bias_, crow, col, values, n_features, t.lr, t.bias_step) {
    y = class_labels(y_, n, k, weight.device());
    finish_setup(t.sample_weight, 1, t.feature_major_ok);
  }
};

}  // namespace torch_perceptron
