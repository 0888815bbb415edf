// The online rule on the GPU, for K independent outputs (one-vs-rest), for
// the plain, averaged and pocket ops and for dense and CSR rows alike: the
// kernel is templated on its row source (rows.h's DenseRows, csr_rows.h's
// CsrRows), whose rows give their dot product (warp_row_dot, rules.cuh) and
// their update (add_to).
//
// One persistent block per output walks all N samples in order, in chunks (see
// rules.cuh): the K outputs run in parallel, one launch per call, and the host
// waits only once, to learn whether a row of x was not finite. Dense weight
// rows that fit are kept in shared memory; CSR rows touch a few of a large
// weight row, which stays in global memory. The CSR was validated by a kernel
// before (csr_checks.cu), so every column is in range.
//
// What a variant does beyond the rule is a block policy, whose hooks every
// thread of output o's block calls as policies.h describes: correct(o, count)
// once per chunk, for the chunk's samples before its first mistake; w_o is
// the output's weight row in shared or global memory. The plain rule's hooks
// are empty.
#pragma once

#include <torch/csrc/stable/accelerator.h>

#include "../csr_operands.h"
#include "../online_step.h"
#include "../operands.h"
#include "../policies.h"
#include "rules.cuh"

namespace torch_perceptron::cuda {

// What the kernel gets by value, its policy included (cpu::OnlineArgs is the
// CPU loop's, without one).
template <typename scalar_t, typename Rows, typename Policy>
struct OnlineKernelArgs {
  Rows x;            // the rows of x, dense or CSR
  scalar_t* w;       // [K, in], contiguous
  scalar_t* b;       // [K]
  int64_t n, in, k;  // n: the visits (online_step.h's order)
  bool weights_in_smem;
  int64_t* bad_row;  // [K]: first row with a non-finite value, or -1
  OnlineStep<scalar_t> rule;
  Policy policy;  // its hooks copied into every thread
};

template <typename scalar_t, typename Rows, typename Policy>
__global__ void __launch_bounds__(1024)
    online_kernel(const OnlineKernelArgs<scalar_t, Rows, Policy> a) {
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

  scalar_t* w = a.weights_in_smem ? reinterpret_cast<scalar_t*>(smem) : a.w + o * a.in;
  if (a.weights_in_smem) {
    for (int64_t j = tid; j < a.in; j += blockDim.x) w[j] = a.w[o * a.in + j];
  }
  // Every thread keeps the same copy of the bias and updates it the same way.
  scalar_t bias = a.b[o];
  int64_t mistakes = 0;
  // The output's loss sum goes on from what loss holds, in sample order; a
  // correct sample adds 0 to it, a mistake |z|.
  double loss = a.rule.loss != nullptr ? a.rule.loss[o] : 0.0;
  auto hooks = a.policy.begin(o, 1);
  // The row of x, y and sw of visit i (checked to be in range on the host).
  auto row_of = [&a, o](int64_t i) { return a.rule.row(o, i); };
  __syncthreads();

  // Start with one sample per warp; grow while chunks are clean, shrink after
  // a mistake. Only the speed depends on it: every value is computed under the
  // weights the sequential rule would have at that sample.
  int chunk = warps;
  int64_t i0 = 0;
  while (i0 < a.n) {
    const int m = static_cast<int>(a.n - i0 < chunk ? a.n - i0 : static_cast<int64_t>(chunk));
    for (int s = warp; s < m; s += warps) {
      const scalar_t dot = warp_row_dot(a.x.row(row_of(i0 + s)), w, lane);
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
          const scalar_t t = a.rule.target(row_of(i0 + s), o);
          event = !isfinite(z) || a.rule.template wrong<bool>(z, t);
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
    const scalar_t step = a.rule.step(a.rule.target(r, o), r);
    const auto row = a.x.row(r);
    hooks.mistake(o, i, row, step, static_cast<const scalar_t*>(w), bias);
    // A hook may read w_o element by element (the pocket's copy, thread j
    // taking element j); a row that shares its non-zeros, not the elements,
    // among the threads waits for every read before any write.
    if constexpr (!decltype(row)::kSharesByElement) __syncthreads();
    row.add_to(w, step, tid, blockDim.x);
    if (a.rule.bias_step != 0) bias += a.rule.bias_gain(step);
    mistakes += 1;
    loss += a.rule.loss_of(z);
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
    a.rule.mistakes[o] = mistakes;
    if (a.rule.loss != nullptr) a.rule.loss[o] = loss;
  }
}

// Launches online_kernel over `rows`, the call's x as a row source, with the
// policy make(scalar_t{}) builds: one block per output, its weight row in
// shared memory where it fits.
template <typename Call, typename Rows, typename MakePolicy>
void launch_online(const Call& call, const Rows& rows, MakePolicy make, cudaStream_t stream,
                   int64_t* bad_row) {
  using scalar_t = typename Rows::scalar_type;
  auto policy = make(scalar_t{});
  using Policy = decltype(policy);
  const int64_t row_bytes = call.in * static_cast<int64_t>(sizeof(scalar_t));
  const bool in_smem = weights_in_smem<Rows>(row_bytes);
  const OnlineKernelArgs<scalar_t, Rows, Policy> args{rows,
                                                      call.w.template mutable_data_ptr<scalar_t>(),
                                                      call.b.template mutable_data_ptr<scalar_t>(),
                                                      call.n,
                                                      call.in,
                                                      call.k,
                                                      in_smem,
                                                      bad_row,
                                                      online_step<scalar_t>(call),
                                                      policy};
  const size_t smem = in_smem ? static_cast<size_t>(row_bytes) : 0;
  online_kernel<scalar_t, Rows, Policy>
      <<<static_cast<unsigned>(call.k), threads_for(call.k), smem, stream>>>(args);
  check_launch("the online rule");
}

// One call of an online-rule op on the GPU, over dense or CSR operands
// (operands.h, csr_operands.h): run(make) runs the rule with the policy
// make(scalar_t{}) builds, in one launch, and returns the first row of x
// with a non-finite decision value, or -1; on such a row some outputs may
// have been updated, and the caller restores them (restore.h).
template <typename Operands>
struct OnlineRule : Operands {
  using Operands::Operands;

  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    return launch_reporting(this->weight, this->k, [&](cudaStream_t stream, int64_t* bad) {
      for_rows(*this, "the online rule",
               [&](const auto& xs) { launch_online(*this, xs, make, stream, bad); });
    });
  }
};

using OnlineCall = OnlineRule<OnlineOperands>;
using CsrOnlineCall = OnlineRule<CsrOnlineOperands>;

}  // namespace torch_perceptron::cuda
