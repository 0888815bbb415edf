// The online rule on the GPU, for K independent outputs (one-vs-rest),
// shared by the plain, averaged and pocket kernels.
//
// One persistent block per output walks all N samples in order, in chunks (see
// rules.cuh): the K outputs run in parallel, one launch per call, and the host
// waits only once, to learn whether a row of x was not finite.
//
// What a variant does beyond the rule is a block policy, whose hooks every
// thread of output o's block calls as policies.h describes: correct(o, count)
// once per chunk, for the chunk's samples before its first mistake; w_o is
// the output's weight row in shared or global memory. The plain rule's hooks
// are empty.
#pragma once

#include <torch/csrc/stable/accelerator.h>

#include "../operands.h"
#include "../policies.h"
#include "../rows.h"
#include "rules.cuh"

namespace torch_perceptron::cuda {

// What the kernel gets by value, its policy included (cpu::OnlineArgs is the
// CPU loop's, without one).
template <typename scalar_t, typename Policy>
struct OnlineKernelArgs {
  scalar_t* w;             // [K, in], contiguous
  scalar_t* b;             // [K]
  const scalar_t* x;       // [N, in], contiguous
  const scalar_t* y;       // [N, K] of 0/1
  const scalar_t* sw;      // [N] or nullptr
  int64_t n, in, k;
  scalar_t lr;
  bool zero_is_mistake;
  scalar_t bias_step;      // b += bias_step * step; 0: the bias stays
  bool weights_in_smem;
  int64_t* mistakes;       // [K]
  int64_t* bad_row;        // [K]: first row with a non-finite value, or -1
  double* loss;            // [K], the epoch loss sums (operands.h), or nullptr
  // The sample order (operands.h), or nullptr: visit i of output o reads
  // row order[o * order_stride + i] of x, y and sw; n counts the visits.
  const int64_t* order;
  int64_t order_stride;
  Policy policy;           // its hooks copied into every thread
};

// err = y - yhat of the online rule for decision value z and label t.
template <typename scalar_t>
__device__ __forceinline__ scalar_t online_error(scalar_t z, scalar_t t,
                                                 bool zero_is_mistake) {
  scalar_t yhat = z > 0 ? scalar_t(1) : scalar_t(0);
  if (zero_is_mistake && z == 0) yhat = scalar_t(1) - t;
  return t - yhat;
}

template <typename scalar_t, typename Policy>
__global__ void __launch_bounds__(1024)
    online_kernel(const OnlineKernelArgs<scalar_t, Policy> a) {
  extern __shared__ __align__(16) unsigned char smem[];
  // Decision values of the current chunk, and the chunk's first event.
  __shared__ scalar_t z_chunk[32 * kSamplesPerWarp];
  __shared__ int first_event;

  const int64_t o = blockIdx.x;
  const int tid = threadIdx.x;
  const int lane = tid % kWarp;
  const int warp = tid / kWarp;
  const int warps = blockDim.x / kWarp;
  const int max_chunk = warps * kSamplesPerWarp;

  scalar_t* w = a.weights_in_smem ? reinterpret_cast<scalar_t*>(smem)
                                  : a.w + o * a.in;
  if (a.weights_in_smem) {
    for (int64_t j = tid; j < a.in; j += blockDim.x) w[j] = a.w[o * a.in + j];
  }
  // Every thread keeps the same copy of the bias and updates it the same way.
  scalar_t bias = a.b[o];
  int64_t mistakes = 0;
  // The output's loss sum goes on from what loss holds, in sample order; a
  // correct sample adds 0 to it, a mistake |z|.
  double loss = a.loss != nullptr ? a.loss[o] : 0.0;
  auto hooks = a.policy.begin(o, 1);
  // The row of x, y and sw of visit i (checked to be in range on the host).
  const int64_t* order = a.order != nullptr ? a.order + o * a.order_stride : nullptr;
  auto row_of = [order](int64_t i) { return order != nullptr ? order[i] : i; };
  __syncthreads();

  // Start with one sample per warp; grow while chunks are clean, shrink after
  // a mistake. Only the speed depends on it: every value is computed under the
  // weights the sequential rule would have at that sample.
  int chunk = warps;
  int64_t i0 = 0;
  while (i0 < a.n) {
    const int m = static_cast<int>(
        a.n - i0 < chunk ? a.n - i0 : static_cast<int64_t>(chunk));
    for (int s = warp; s < m; s += warps) {
      const scalar_t dot = warp_dot(w, a.x + row_of(i0 + s) * a.in, a.in, lane);
      if (lane == 0) z_chunk[s] = dot + bias;
    }
    __syncthreads();

    // The first sample of the chunk that is a mistake or not finite.
    if (warp == 0) {
      int first = m;
      for (int base = 0; base < m; base += kWarp) {
        const int s = base + lane;
        bool event = false;
        if (s < m) {
          const scalar_t z = z_chunk[s];
          const scalar_t t = a.y[row_of(i0 + s) * a.k + o];
          event = !isfinite(z) || online_error(z, t, a.zero_is_mistake) != 0;
        }
        const unsigned hits = __ballot_sync(kFullMask, event);
        if (hits != 0) {
          first = base + __ffs(hits) - 1;
          break;
        }
      }
      if (lane == 0) first_event = first;
    }
    __syncthreads();
    const int f = first_event;
    if (f == m) {
      if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(o, m);
      i0 += m;
      chunk = 2 * chunk < max_chunk ? 2 * chunk : max_chunk;
      continue;
    }

    const int64_t i = i0 + f;
    const int64_t r = row_of(i);
    const scalar_t z = z_chunk[f];
    if (!isfinite(z)) {
      // The host undoes what was written (restore.h) and raises.
      if (tid == 0) a.bad_row[o] = r;
      hooks.end();
      return;
    }
    // The samples before the first event were predicted correctly.
    if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(o, f);
    const scalar_t err = online_error(z, a.y[r * a.k + o], a.zero_is_mistake);
    const scalar_t step =
        a.sw != nullptr ? a.lr * a.sw[r] * err : a.lr * err;
    const scalar_t* xi = a.x + r * a.in;
    hooks.mistake(o, i, DenseRow<scalar_t>{xi, a.in}, step,
                  static_cast<const scalar_t*>(w), bias);
    for (int64_t j = tid; j < a.in; j += blockDim.x) w[j] += step * xi[j];
    if (a.bias_step != 0) bias += step * a.bias_step;
    mistakes += 1;
    loss += fabs(static_cast<double>(z));
    // The update is visible to every warp (and z_chunk free) before the next
    // chunk's dot products.
    __syncthreads();
    i0 = i + 1;
    chunk = chunk / 2 > warps ? chunk / 2 : warps;
  }

  hooks.done(o, static_cast<const scalar_t*>(w), bias);
  hooks.end();
  if (a.weights_in_smem) {
    for (int64_t j = tid; j < a.in; j += blockDim.x) a.w[o * a.in + j] = w[j];
  }
  if (tid == 0) {
    a.b[o] = bias;
    a.mistakes[o] = mistakes;
    if (a.loss != nullptr) a.loss[o] = loss;
  }
}

// One call of an online-rule op on the GPU: its operands (see operands.h) and
// how to run the rule on them.
struct OnlineCall : OnlineOperands {
  using OnlineOperands::OnlineOperands;

  // Runs the rule with the policy that make(scalar_t{}) builds, in one launch.
  // Returns the first row of x with a non-finite decision value, or -1; on
  // such a row some outputs may have been updated, and the caller restores
  // them.
  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    if (n == 0) return -1;
    const torch::stable::accelerator::DeviceGuard guard(x.get_device_index());
    const Tensor bad_row =
        torch::stable::full(std::vector<int64_t>{k}, -1.0, ScalarType::Long,
                            std::nullopt, x.device());
    const int threads = threads_for(k);
    const int64_t row_bytes = in * static_cast<int64_t>(x.element_size());
    const bool in_smem = row_bytes <= kWeightSmemBytes;
    const size_t smem = in_smem ? static_cast<size_t>(row_bytes) : 0;
    const cudaStream_t stream = current_stream(x.device());

    dispatch_float(x.scalar_type(), "online_update_cuda", [&](auto tag) {
      using scalar_t = decltype(tag);
      auto policy = make(scalar_t{});
      using Policy = decltype(policy);
      const OnlineKernelArgs<scalar_t, Policy> args{
          w.mutable_data_ptr<scalar_t>(),
          b.mutable_data_ptr<scalar_t>(),
          x.const_data_ptr<scalar_t>(),
          y.const_data_ptr<scalar_t>(),
          sw ? sw->const_data_ptr<scalar_t>() : nullptr,
          n, in, k,
          static_cast<scalar_t>(lr),
          zero_is_mistake,
          static_cast<scalar_t>(bias_step),
          in_smem,
          mistakes.mutable_data_ptr<int64_t>(),
          bad_row.mutable_data_ptr<int64_t>(),
          loss ? loss->mutable_data_ptr<double>() : nullptr,
          order ? order->const_data_ptr<int64_t>() : nullptr,
          order_stride,
          policy};
      online_kernel<scalar_t, Policy>
          <<<static_cast<unsigned>(k), threads, smem, stream>>>(args);
      check_launch("online_update");
    });

    // Outputs fail on their own: the earliest bad row is the one to report.
    return first_bad_row(bad_row);
  }
};

}  // namespace torch_perceptron::cuda
