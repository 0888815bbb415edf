// The online rule's arguments and its step, written once for every loop of
// it on every device and for every layout: the CPU's dense SIMD groups
// (cpu/online_loop.h), its CSR loops, row-major and feature-major
// (cpu/csr_online_loop.h, cpu/csr_online_feature_major.h), and the GPU's
// kernel over dense or CSR rows (cuda/online_rule.cuh). A loop asks the step
// whether a decision value is a mistake, what the mistake's step is, what it
// adds to the bias and to the loss; it keeps only how it reads the rows and
// the weights. An argument added to the online rule is a field and its use
// here, and its parsing in the operands (online_step(call) below).
//
// The step's functions take a scalar or a vector of lanes alike (V a scalar_t
// or a GCC vector of them, M bool or the matching lane mask), so that a SIMD
// loop and a scalar one compute the same expressions, bit for bit.
#pragma once

#include <cmath>
#include <cstdint>

#include "rows.h"

namespace torch_perceptron {

template <typename scalar_t>
struct OnlineStep {
  const scalar_t* y;   // [rows, K] of 0/1
  const scalar_t* sw;  // [rows] or nullptr
  int64_t k;
  scalar_t lr;
  bool zero_is_mistake;
  scalar_t bias_step;  // b += bias_step * step; 0: the bias stays as it is
  int64_t* mistakes;   // [K]
  // The epoch loss sums (operands.h), [K] float64, or nullptr.
  double* loss;
  // The sample order, or nullptr: visit i of output o reads row
  // order[o * order_stride + i] of x, y and sw (order_stride 0: one order
  // for every output).
  const int64_t* order;
  int64_t order_stride;

  // The row that visit i of output o reads.
  TP_HOST_DEVICE int64_t row(int64_t o, int64_t i) const {
    return order != nullptr ? order[o * order_stride + i] : i;
  }
  // Output o's target at row r, 0 or 1.
  TP_HOST_DEVICE scalar_t target(int64_t r, int64_t o) const { return y[r * k + o]; }
  // Whether decision value z misses target t: [z > 0] differs from it, or,
  // with zero_is_mistake, z == 0 (scikit-learn's y * z <= 0).
  template <typename M, typename V>
  TP_HOST_DEVICE M wrong(V z, V t) const {
    M m = M(z > 0) ^ M(t != 0);
    if (zero_is_mistake) m |= M(z == 0);
    return m;
  }
  // A mistake's step at row r: lr * sample_weight * err, the error y - yhat
  // of a mistake being 2t - 1.
  template <typename V>
  TP_HOST_DEVICE V step(V t, int64_t r) const {
    const V err = t + t - 1;
    return sw != nullptr ? (lr * sw[r]) * err : lr * err;
  }
  // The bias's step for a weights' step (check bias_step != 0 first: a zero
  // step must leave the bias's bits, -0 included).
  template <typename V>
  TP_HOST_DEVICE V bias_gain(V step_) const {
    return step_ * bias_step;
  }
  // A mistake's perceptron loss max(0, -(2t - 1) z) in float64: |z| (0 at a
  // zero_is_mistake z == 0), what scikit-learn sums.
  TP_HOST_DEVICE static double loss_of(scalar_t z) { return fabs(static_cast<double>(z)); }
};

// The multiclass rule's prediction: the argmax of a sample's K decision
// values, the lowest class winning a tie (a later class takes over only with
// a strictly larger value), and whether every value was finite (a sample with
// one that is not is a bad row). Every multiclass loop predicts with it, each
// computing the values its layout's way and offering them in class order.
template <typename scalar_t>
struct ClassArgmax {
  scalar_t best = 0;
  int64_t yhat = -1;
  bool finite = true;

  // Class c's decision value, c after every class offered so far.
  TP_HOST_DEVICE void offer(int64_t c, scalar_t z) {
#ifdef __CUDA_ARCH__
    finite &= isfinite(z);
#else
    finite &= std::isfinite(z);
#endif
    offer_top(c, z);
  }
  // The largest value of a run of classes and the first class holding it,
  // their finiteness checked by the caller (a SIMD group checks its lanes at
  // once). Branch-free: the SIMD loop's next group need not wait on it.
  TP_HOST_DEVICE void offer_top(int64_t c, scalar_t top) {
    const bool take = yhat < 0 || top > best;
    best = take ? top : best;
    yhat = take ? c : yhat;
  }
};

// The multiclass rule's arguments and step, as OnlineStep is the online
// rule's: every multiclass loop (the CPU's dense SIMD groups, its CSR loops
// row-major, on a feature-major copy and in place, the GPU kernel over dense
// or CSR rows) takes its labels, its steps and its biases' move from here, and
// predicts with ClassArgmax.
template <typename scalar_t>
struct MulticlassStep {
  const int64_t* y;    // [N] class indices
  const scalar_t* sw;  // [N] or nullptr
  scalar_t lr;
  scalar_t bias_step;  // b += bias_step * step; 0: the biases stay
  int64_t* mistakes;   // [1]

  // Row i's class.
  TP_HOST_DEVICE int64_t target(int64_t i) const { return y[i]; }
  // A mistake's step at row i: row t gains step * x_i, row yhat loses it.
  TP_HOST_DEVICE scalar_t step(int64_t i) const { return sw != nullptr ? lr * sw[i] : lr; }
  // What the biases of t and yhat gain and lose (check bias_step != 0 first).
  TP_HOST_DEVICE scalar_t bias_gain(scalar_t step_) const { return step_ * bias_step; }
  // A mistake's move of the biases: t's gains, yhat's loses; with bias_step
  // 0 they keep their bits (-0 included). bias(c) is class c's bias, a
  // reference into the loop's copy of them.
  template <typename Bias>
  TP_HOST_DEVICE void move_biases(Bias&& bias, int64_t t, int64_t yhat, scalar_t step_) const {
    if (bias_step == 0) return;
    const scalar_t by = bias_gain(step_);
    bias(t) += by;
    bias(yhat) -= by;
  }
};

// The step of an online call's operands (operands.h, csr_operands.h: the same
// fields, dense or CSR), in the loop's scalar_t.
template <typename scalar_t, typename Operands>
OnlineStep<scalar_t> online_step(const Operands& call) {
  return {call.y.template const_data_ptr<scalar_t>(),
          call.sw ? call.sw->template const_data_ptr<scalar_t>() : nullptr,
          call.k,
          static_cast<scalar_t>(call.lr),
          call.zero_is_mistake,
          static_cast<scalar_t>(call.bias_step),
          call.mistakes.template mutable_data_ptr<int64_t>(),
          call.loss ? call.loss->template mutable_data_ptr<double>() : nullptr,
          call.order ? call.order->template const_data_ptr<int64_t>() : nullptr,
          call.order_stride};
}

// The step of a multiclass call's operands, dense or CSR.
template <typename scalar_t, typename Operands>
MulticlassStep<scalar_t> multiclass_step(const Operands& call) {
  return {call.y.template const_data_ptr<int64_t>(),
          call.sw ? call.sw->template const_data_ptr<scalar_t>() : nullptr,
          static_cast<scalar_t>(call.lr), static_cast<scalar_t>(call.bias_step),
          call.mistakes.template mutable_data_ptr<int64_t>()};
}

}  // namespace torch_perceptron
