// The averaged perceptron on the GPU, binary / one-vs-rest and multiclass, in
// the running-average form of cpu/averaged_policy.h: weight_acc and bias_acc
// gain (count + i) * step * x_i and (count + i) * step on a mistake at sample
// i of the call, a correct prediction costs nothing, and count advances by N
// on success. The kernels are the plain rule's (online_rule.cuh,
// multiclass_rule.cuh) with the block policies below (policies.h).
#pragma once

#include "../variant_state.h"
#include "multiclass_rule.cuh"

namespace torch_perceptron::cuda {

// The hooks (policies.h) write only on a mistake, to rows of the block's own
// output, so a block's hooks are the policy itself, with the output's count.
template <typename scalar_t>
struct AveragedBlockPolicy {
  scalar_t* weight_acc;  // [K, in]
  scalar_t* bias_acc;    // [K]
  const int64_t* count;  // [K], samples seen before this call
  int64_t in;
  scalar_t bias_step;
  int64_t count_o = 0;  // the block's output's count

  explicit AveragedBlockPolicy(const AveragedArgs<scalar_t>& a)
      : weight_acc(a.weight_acc), bias_acc(a.bias_acc), count(a.count), in(a.in),
        bias_step(a.bias_step) {}

  static constexpr bool kCountsCorrect = false;
  __device__ AveragedBlockPolicy begin(int64_t o, int64_t) const {
    AveragedBlockPolicy hooks = *this;
    hooks.count_o = count[o];
    return hooks;
  }
  __device__ void correct(int64_t, int64_t) {}
  template <typename Row>
  __device__ void mistake(int64_t o, int64_t i, const Row& row, scalar_t step, const scalar_t*,
                          scalar_t) {
    // The sample's 1-based index is count + i + 1; the step is weighed by how
    // many samples came before it.
    const scalar_t c = static_cast<scalar_t>(count_o + i);
    row.add_to(weight_acc + o * in, c * step, threadIdx.x, blockDim.x);
    if (bias_step != 0 && threadIdx.x == 0) bias_acc[o] += c * (step * bias_step);
  }
  __device__ void done(int64_t, const scalar_t*, scalar_t) {}
  __device__ void end() {}
};

template <typename scalar_t>
struct AveragedMulticlassBlockPolicy {
  scalar_t* weight_acc;  // [K, in]
  scalar_t* bias_acc;    // [K]
  const int64_t* count;  // [1], samples seen before this call
  int64_t in;
  scalar_t bias_step;
  int64_t count0 = 0;

  explicit AveragedMulticlassBlockPolicy(const AveragedArgs<scalar_t>& a)
      : weight_acc(a.weight_acc), bias_acc(a.bias_acc), count(a.count), in(a.in),
        bias_step(a.bias_step) {}

  static constexpr bool kCountsCorrect = false;
  __device__ AveragedMulticlassBlockPolicy begin() const {
    AveragedMulticlassBlockPolicy hooks = *this;
    hooks.count0 = *count;
    return hooks;
  }
  __device__ void correct(int64_t) {}
  template <typename Row>
  __device__ void mistake(int64_t i, const Row& row, int64_t t, int64_t yhat, scalar_t step,
                          const MulticlassBlockModel<scalar_t>&) {
    const scalar_t c = static_cast<scalar_t>(count0 + i);
    const scalar_t cs = c * step;
    row.add_to(weight_acc + t * in, cs, threadIdx.x, blockDim.x);
    row.add_to(weight_acc + yhat * in, -cs, threadIdx.x, blockDim.x);
    if (bias_step != 0 && threadIdx.x == 0) {
      const scalar_t cb = c * (step * bias_step);
      bias_acc[t] += cb;
      bias_acc[yhat] -= cb;
    }
  }
  __device__ void done(const MulticlassBlockModel<scalar_t>&) {}
  __device__ void end() {}
};

}  // namespace torch_perceptron::cuda
