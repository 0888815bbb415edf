// The multiclass perceptron on the GPU, for the plain, averaged and pocket ops
// and for dense and CSR rows alike (the kernel is templated on its row
// source, as online_rule.cuh's): one weight row per class, the predicted
// class is the argmax of the K decision values, and a mistake moves two rows.
//
// Every sample needs all K rows before it can update, so one persistent block
// holds all of them and walks the samples in chunks (see rules.cuh): the
// chunk's m * K decision values are computed in parallel, one warp per
// (sample, class) pair, then one warp finds the first sample whose argmax is
// wrong or whose values are not finite.
//
// A variant's extra work is a block policy, whose hooks every thread of the
// block calls as policies.h describes: correct(count) once per chunk; the
// model they see is MulticlassBlockModel, the weights [K, in] in shared or
// global memory and the biases [K] in global memory. The plain rule's hooks
// are empty.
#pragma once

#include <torch/csrc/stable/accelerator.h>

#include <algorithm>

#include "../csr_operands.h"
#include "../online_step.h"
#include "../operands.h"
#include "../policies.h"
#include "rules.cuh"

namespace torch_perceptron::cuda {

// The block's current weights and biases, as the hooks see them.
template <typename scalar_t>
struct MulticlassBlockModel {
  const scalar_t* w;  // [K, in]
  const scalar_t* b;  // [K]
  int64_t k, in;

  __device__ const scalar_t* row(int64_t c) const { return w + c * in; }
  __device__ scalar_t bias_of(int64_t c) const { return b[c]; }
  // Into plain [K, in] and [K] arrays, shared out over the block's threads
  // (element j by thread j % blockDim.x); no barrier of its own.
  __device__ void copy_to(scalar_t* dst_w, scalar_t* dst_b) const {
    for (int64_t j = threadIdx.x; j < k * in; j += blockDim.x) dst_w[j] = w[j];
    for (int64_t c = threadIdx.x; c < k; c += blockDim.x) dst_b[c] = b[c];
  }
};

// What the kernel gets by value, its policy and scratch included.
template <typename scalar_t, typename Rows, typename Policy>
struct MulticlassKernelArgs {
  Rows x;       // the rows of x, dense or CSR
  scalar_t* w;  // [K, in], contiguous
  scalar_t* b;  // [K]
  scalar_t* z;  // [max_chunk, K] scratch for the chunk's values
  int64_t n, in, k;
  int min_chunk, max_chunk;  // samples per chunk
  bool weights_in_smem;
  int64_t* bad_row;  // [1]: first row with a non-finite value, or -1
  MulticlassStep<scalar_t> rule;
  Policy policy;  // its hooks copied into every thread
};

template <typename scalar_t, typename Rows, typename Policy>
__global__ void __launch_bounds__(1024)
    multiclass_kernel(const MulticlassKernelArgs<scalar_t, Rows, Policy> a) {
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ int first_event;
  __shared__ int64_t event_yhat;  // argmax of the first event, -1 if not finite

  const int tid = threadIdx.x;
  const int lane = tid % kWarp;
  const int warp = tid / kWarp;
  const int warps = blockDim.x / kWarp;
  const int64_t k = a.k, in = a.in;

  scalar_t* w = a.weights_in_smem ? reinterpret_cast<scalar_t*>(smem) : a.w;
  if (a.weights_in_smem) {
    for (int64_t j = tid; j < k * in; j += blockDim.x) w[j] = a.w[j];
  }
  int64_t mistakes = 0;
  const MulticlassBlockModel<scalar_t> model{w, a.b, k, in};
  auto hooks = a.policy.begin();
  __syncthreads();

  int chunk = a.min_chunk;
  int64_t i0 = 0;
  while (i0 < a.n) {
    const int m = static_cast<int>(a.n - i0 < chunk ? a.n - i0 : static_cast<int64_t>(chunk));
    for (int64_t p = warp; p < m * k; p += warps) {
      const int64_t s = p / k, c = p % k;
      const scalar_t dot = warp_row_dot(a.x.row(i0 + s), w + c * in, lane);
      if (lane == 0) a.z[p] = dot + a.b[c];
    }
    __syncthreads();

    // The first sample whose prediction is wrong or whose values are not
    // finite, with one lane per sample scanning its K values in class order
    // (as the CPU does: the lowest index wins a tie, and the first non-finite
    // value stops the call).
    if (warp == 0) {
      int first = m;
      for (int base = 0; base < m; base += kWarp) {
        const int s = base + lane;
        bool event = false;
        int64_t yhat = 0;
        if (s < m) {
          const scalar_t* zs = a.z + s * k;
          ClassArgmax<scalar_t> argmax;
          for (int64_t c = 0; c < k && argmax.finite; ++c) argmax.offer(c, zs[c]);
          yhat = argmax.finite ? argmax.yhat : -1;
          event = yhat < 0 || yhat != a.rule.target(i0 + s);
        }
        const unsigned hits = __ballot_sync(kFullMask, event);
        if (hits != 0) {
          first = base + __ffs(hits) - 1;
          if (s == first) event_yhat = yhat;
          break;
        }
      }
      if (lane == 0) first_event = first;
    }
    __syncthreads();
    const int f = first_event;
    if (f == m) {
      if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(m);
      i0 += m;
      chunk = 2 * chunk < a.max_chunk ? 2 * chunk : a.max_chunk;
      continue;
    }

    const int64_t i = i0 + f;
    const int64_t yhat = event_yhat;
    if (yhat < 0) {
      // The host undoes what was written (restore.h) and raises.
      if (tid == 0) *a.bad_row = i;
      hooks.end();
      return;
    }
    // The samples before the first event were predicted correctly.
    if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(f);
    const int64_t t = a.rule.target(i);
    const scalar_t step = a.rule.step(i);
    const auto row = a.x.row(i);
    hooks.mistake(i, row, t, yhat, step, model);
    // As in online_kernel: a row that shares its non-zeros among the threads
    // waits for the hooks' reads.
    if constexpr (!decltype(row)::kSharesByElement) __syncthreads();
    row.add_to(w + t * in, step, tid, blockDim.x);
    row.add_to(w + yhat * in, -step, tid, blockDim.x);
    if (tid == 0) {
      scalar_t* b = a.b;
      a.rule.move_biases([b](int64_t c) -> scalar_t& { return b[c]; }, t, yhat, step);
    }
    mistakes += 1;
    // The update (weights and bias) is visible to every warp, and z and the
    // event free for reuse, before the next chunk.
    __syncthreads();
    i0 = i + 1;
    chunk = chunk / 2 > a.min_chunk ? chunk / 2 : a.min_chunk;
  }

  // Every update is visible here: the loop's last pass ended at a barrier.
  hooks.done(model);
  hooks.end();
  if (a.weights_in_smem) {
    for (int64_t j = tid; j < k * in; j += blockDim.x) a.w[j] = w[j];
  }
  if (tid == 0) *a.rule.mistakes = mistakes;
}

// Launches multiclass_kernel over `rows`, the call's x as a row source, with
// the policy make(scalar_t{}) builds: one block for the whole model, in
// shared memory where it fits.
template <typename Call, typename Rows, typename MakePolicy>
void launch_multiclass(const Call& call, const Rows& rows, MakePolicy make, cudaStream_t stream,
                       int64_t* bad_row) {
  using scalar_t = typename Rows::scalar_type;
  const int64_t k = call.k;
  const int threads = threads_for(1);
  const int warps = threads / kWarp;
  // A chunk of at least one sample, and enough (sample, class) pairs to give
  // every warp one when K is small.
  const int min_chunk = static_cast<int>(std::max<int64_t>(1, warps / k));
  const int max_chunk = static_cast<int>(std::max<int64_t>(1, warps * kSamplesPerWarp / k));
  const Tensor z =
      torch::stable::empty(std::vector<int64_t>{max_chunk, k}, call.weight.scalar_type(),
                           std::nullopt, call.weight.device());
  const int64_t bytes = k * call.in * static_cast<int64_t>(sizeof(scalar_t));
  const bool in_smem = weights_in_smem<Rows>(bytes);
  auto policy = make(scalar_t{});
  using Policy = decltype(policy);
  const MulticlassKernelArgs<scalar_t, Rows, Policy> args{
      rows,
      call.w.template mutable_data_ptr<scalar_t>(),
      call.b.template mutable_data_ptr<scalar_t>(),
      z.mutable_data_ptr<scalar_t>(),
      call.n,
      call.in,
      k,
      min_chunk,
      max_chunk,
      in_smem,
      bad_row,
      multiclass_step<scalar_t>(call),
      policy};
  const size_t smem = in_smem ? static_cast<size_t>(bytes) : 0;
  multiclass_kernel<scalar_t, Rows, Policy><<<1, threads, smem, stream>>>(args);
  check_launch("the multiclass rule");
}

// One call of a multiclass op on the GPU, over dense or CSR operands, as
// OnlineRule (online_rule.cuh) for the online rule: one launch; run(make)
// returns the first bad row or -1 (the caller restores what was written).
template <typename Operands>
struct MulticlassRule : Operands {
  using Operands::Operands;

  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    return launch_reporting(this->weight, 1, [&](cudaStream_t stream, int64_t* bad) {
      for_rows(*this, "the multiclass rule",
               [&](const auto& xs) { launch_multiclass(*this, xs, make, stream, bad); });
    });
  }
};

using MulticlassCall = MulticlassRule<MulticlassOperands>;
using CsrMulticlassCall = MulticlassRule<CsrMulticlassOperands>;

}  // namespace torch_perceptron::cuda
