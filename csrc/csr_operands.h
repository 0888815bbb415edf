// The validated operands of one call of a sparse (CSR) update op, shared by
// every device's kernels, as operands.h is for the dense ops: the same checks
// in the same order (csr_checks.h); restore.h undoes what a call wrote when
// its kernel stops at a bad row.
#pragma once

#include <cstring>
#include <initializer_list>
#include <new>
#include <optional>
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
  // The sample order of an online op, when given (operands.h's, the same
  // check): visit i of output o reads CSR row order[o * order_stride + i],
  // and its y and sample_weight; order_stride is 0 for one order [M], M for
  // one per output [K, M]. n is then M, the visits; x.n stays the rows.
  std::optional<Tensor> order;
  int64_t order_stride = 0;
  // Whether the plain rule's call asks for the caller's feature-major
  // weights as they are (the constructor's feature_major_ok; the CPU's calls
  // then choose their layout, cpu/csr_online_loop.h).
  static constexpr bool kKeepsFeatureMajor = false;

  CsrOperands(Tensor& weight_, Tensor& bias_, const Tensor& crow,
              const Tensor& col, const Tensor& values, int64_t n_features,
              double lr_, double bias_step_)
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
    if (feature_major_ok && k >= 2 && !weight.is_contiguous() &&
        weight.stride(0) == 1 && weight.stride(1) >= k) {
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

struct CsrOnlineOperands : CsrOperands {
  // crow_indices, col_indices, values, n_features, then as OnlineOperands.
  using Args = OpArgs<const Tensor&, const Tensor&, const Tensor&, int64_t,
                      const Tensor&, double, Opt, bool, double, Opt, Opt>;
  using PlainPolicy = NoPolicy;
  Tensor y;  // [N, K] of 0/1 in the weights' dtype
  bool zero_is_mistake;
  // The epoch loss sums, when asked, as OnlineOperands has them: the caller's
  // tensor and the contiguous one the kernel adds to.
  std::optional<Tensor> loss_arg, loss;

  CsrOnlineOperands(Tensor& weight_, Tensor& bias_, const Tensor& crow,
                    const Tensor& col, const Tensor& values, int64_t n_features,
                    const Tensor& y_, double lr_,
                    const std::optional<Tensor>& sample_weight,
                    bool zero_is_mistake_, double bias_step_,
                    const std::optional<Tensor>& loss_ = std::nullopt,
                    const std::optional<Tensor>& order_ = std::nullopt,
                    bool feature_major_ok = false)
      : CsrOperands(weight_, bias_, crow, col, values, n_features, lr_,
                    bias_step_),
        zero_is_mistake(zero_is_mistake_) {
    y = binary_labels(y_, n, k, weight.scalar_type(), weight.device());
    finish_setup(sample_weight, k, feature_major_ok);
    loss = loss_sums(loss_, k, weight.device());
    if (loss) loss_arg = *loss_;
    order = sample_order(order_, x.n, k, weight.device());
    if (order) {
      n = order->size(order->dim() - 1);
      if (order->dim() == 2) order_stride = n;
    }
  }

  void add_written(std::vector<StatePair>& state) {
    if (loss) state.push_back({&*loss_arg, &*loss});
  }
};

struct CsrMulticlassOperands : CsrOperands {
  // crow_indices, col_indices, values, n_features, then as MulticlassOperands.
  using Args = OpArgs<const Tensor&, const Tensor&, const Tensor&, int64_t,
                      const Tensor&, double, Opt, double>;
  using PlainPolicy = NoMulticlassPolicy;
  Tensor y;  // [N] int64 class indices

  CsrMulticlassOperands(Tensor& weight_, Tensor& bias_, const Tensor& crow,
                        const Tensor& col, const Tensor& values,
                        int64_t n_features, const Tensor& y_, double lr_,
                        const std::optional<Tensor>& sample_weight,
                        double bias_step_, bool feature_major_ok = false)
      : CsrOperands(weight_, bias_, crow, col, values, n_features, lr_,
                    bias_step_) {
    y = class_labels(y_, n, k, weight.device());
    finish_setup(sample_weight, 1, feature_major_ok);
  }
};

}  // namespace torch_perceptron
