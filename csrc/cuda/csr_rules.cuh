// The sequential rules over CSR rows on the GPU, shared by the plain,
// averaged and pocket kernels: online_rule.cuh and multiclass_rule.cuh with
// x's rows as CsrRows (csr_rows.h). The chunked walk is theirs (rules.cuh):
// a warp computes one sample's decision value (its lanes over the row's
// non-zeros, lane-strided partial sums in a fixed order, then warp_sum), a
// chunk of samples at once under the current weights; the first mistake is
// applied (the block's threads share the row's non-zeros: columns of a row
// are distinct, so no two threads write one weight) and the walk goes on
// right after it. The weights stay in global memory: a sparse row touches a
// few of a large weight row, which would not fit in shared memory anyway.
// The CSR was validated by a kernel before (csr_checks.cu), so every column
// is in range; a non-finite decision value is an overflow, reported as the
// dense kernels report it.
#pragma once

#include <torch/csrc/stable/accelerator.h>

#include <algorithm>

#include "../csr_operands.h"
#include "../policies.h"
#include "multiclass_rule.cuh"
#include "online_rule.cuh"
#include "rules.cuh"

namespace torch_perceptron::cuda {

// row . w by one warp: lane l sums the non-zeros l, l + 32, ... in order, then
// warp_sum combines the lanes; every lane gets the value.
template <typename scalar_t, typename index_t>
__device__ __forceinline__ scalar_t warp_csr_dot(
    const CsrRow<scalar_t, index_t>& row, const scalar_t* w, int lane) {
  scalar_t acc = 0;
  for (int64_t p = lane; p < row.nnz; p += kWarp) {
    acc += __ldg(row.values + p) * w[row.cols[p]];
  }
  return warp_sum(acc);
}

template <typename scalar_t, typename index_t, typename Policy>
struct CsrOnlineArgs {
  CsrRows<scalar_t, index_t> x;
  scalar_t* w;         // [K, in]
  scalar_t* b;         // [K]
  const scalar_t* y;   // [N, K] of 0/1
  const scalar_t* sw;  // [N] or nullptr
  int64_t k;
  scalar_t lr, bias_step;
  bool zero_is_mistake;
  int64_t* mistakes;   // [K]
  int64_t* bad_row;    // [K]
  double* loss;        // [K], the epoch loss sums (operands.h), or nullptr
  // The visits: x.n without an order; with one, visit i of output o reads
  // row order[o * order_stride + i] of x, y and sw (csr_operands.h).
  int64_t n;
  const int64_t* order;
  int64_t order_stride;
  Policy policy;
};

// One block per output (online_rule.cuh's online_kernel over CSR rows).
template <typename scalar_t, typename index_t, typename Policy>
__global__ void __launch_bounds__(1024)
    csr_online_kernel(const CsrOnlineArgs<scalar_t, index_t, Policy> a) {
  __shared__ scalar_t z_chunk[32 * kSamplesPerWarp];
  __shared__ int first_event;

  const int64_t o = blockIdx.x;
  const int tid = threadIdx.x;
  const int lane = tid % kWarp;
  const int warp = tid / kWarp;
  const int warps = blockDim.x / kWarp;
  const int max_chunk = warps * kSamplesPerWarp;
  scalar_t* w = a.w + o * a.x.in;
  scalar_t bias = a.b[o];
  int64_t mistakes = 0;
  // Every thread keeps the same sum, going on from what loss holds.
  double loss = a.loss != nullptr ? a.loss[o] : 0.0;
  auto hooks = a.policy.begin(o, 1);
  const int64_t* order =
      a.order != nullptr ? a.order + o * a.order_stride : nullptr;
  auto row_of = [order](int64_t i) { return order != nullptr ? order[i] : i; };
  __syncthreads();

  int chunk = warps;
  int64_t i0 = 0;
  while (i0 < a.n) {
    const int m = static_cast<int>(
        a.n - i0 < chunk ? a.n - i0 : static_cast<int64_t>(chunk));
    for (int s = warp; s < m; s += warps) {
      const scalar_t dot = warp_csr_dot(a.x.row(row_of(i0 + s)), w, lane);
      if (lane == 0) z_chunk[s] = dot + bias;
    }
    __syncthreads();
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
      if (tid == 0) a.bad_row[o] = r;
      hooks.end();
      return;
    }
    if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(o, f);
    const scalar_t err = online_error(z, a.y[r * a.k + o], a.zero_is_mistake);
    const scalar_t step = a.sw != nullptr ? a.lr * a.sw[r] * err : a.lr * err;
    const CsrRow<scalar_t, index_t> row = a.x.row(r);
    hooks.mistake(o, i, row, step, static_cast<const scalar_t*>(w), bias);
    // A hook may read w_o element by element (the pocket's copy, thread j
    // taking element j), while the step below shares the row's non-zeros,
    // not the elements, among the threads: every read is done before any
    // write.
    __syncthreads();
    row.add_to(w, step, tid, blockDim.x);
    if (a.bias_step != 0) bias += step * a.bias_step;
    mistakes += 1;
    loss += fabs(static_cast<double>(z));
    __syncthreads();
    i0 = i + 1;
    chunk = chunk / 2 > warps ? chunk / 2 : warps;
  }
  hooks.done(o, static_cast<const scalar_t*>(w), bias);
  hooks.end();
  if (tid == 0) {
    a.b[o] = bias;
    a.mistakes[o] = mistakes;
    if (a.loss != nullptr) a.loss[o] = loss;
  }
}

struct CsrOnlineCall : CsrOnlineOperands {
  using CsrOnlineOperands::CsrOnlineOperands;


  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    const torch::stable::accelerator::DeviceGuard guard(
        weight.get_device_index());
    const Tensor bad_row =
        torch::stable::full(std::vector<int64_t>{k}, -1.0, ScalarType::Long,
                            std::nullopt, weight.device());
    const int threads = threads_for(k);
    const cudaStream_t stream = current_stream(weight.device());
    dispatch_float(weight.scalar_type(), "online_update_csr_cuda", [&](auto tag) {
      using scalar_t = decltype(tag);
      dispatch_index(x, [&](auto itag) {
        using index_t = decltype(itag);
        auto policy = make(scalar_t{});
        using Policy = decltype(policy);
        const CsrOnlineArgs<scalar_t, index_t, Policy> args{
            rows<scalar_t, index_t>(),
            w.mutable_data_ptr<scalar_t>(),
            b.mutable_data_ptr<scalar_t>(),
            y.const_data_ptr<scalar_t>(),
            sw ? sw->const_data_ptr<scalar_t>() : nullptr,
            k,
            static_cast<scalar_t>(lr),
            static_cast<scalar_t>(bias_step),
            zero_is_mistake,
            mistakes.mutable_data_ptr<int64_t>(),
            bad_row.mutable_data_ptr<int64_t>(),
            loss ? loss->mutable_data_ptr<double>() : nullptr,
            n,
            order ? order->const_data_ptr<int64_t>() : nullptr,
            order_stride,
            policy};
        csr_online_kernel<scalar_t, index_t, Policy>
            <<<static_cast<unsigned>(k), threads, 0, stream>>>(args);
        check_launch("online_update_csr");
      });
    });
    return first_bad_row(bad_row);
  }
};

template <typename scalar_t, typename index_t, typename Policy>
struct CsrMulticlassArgs {
  CsrRows<scalar_t, index_t> x;
  scalar_t* w;         // [K, in]
  scalar_t* b;         // [K]
  const int64_t* y;    // [N]
  const scalar_t* sw;  // [N] or nullptr
  scalar_t* z;         // [max_chunk, K] scratch
  int64_t k;
  int min_chunk, max_chunk;
  scalar_t lr, bias_step;
  int64_t* mistakes;   // [1]
  int64_t* bad_row;    // [1]
  Policy policy;
};

// One block for the whole model (multiclass_rule.cuh's multiclass_kernel over
// CSR rows): one warp per (sample, class) pair of a chunk.
template <typename scalar_t, typename index_t, typename Policy>
__global__ void __launch_bounds__(1024)
    csr_multiclass_kernel(const CsrMulticlassArgs<scalar_t, index_t, Policy> a) {
  __shared__ int first_event;
  __shared__ int64_t event_yhat;
  const int tid = threadIdx.x;
  const int lane = tid % kWarp;
  const int warp = tid / kWarp;
  const int warps = blockDim.x / kWarp;
  const int64_t k = a.k, in = a.x.in;
  scalar_t* w = a.w;
  int64_t mistakes = 0;
  const MulticlassBlockModel<scalar_t> model{w, a.b, k, in};
  auto hooks = a.policy.begin();
  __syncthreads();

  int chunk = a.min_chunk;
  int64_t i0 = 0;
  while (i0 < a.x.n) {
    const int m = static_cast<int>(
        a.x.n - i0 < chunk ? a.x.n - i0 : static_cast<int64_t>(chunk));
    for (int64_t p = warp; p < m * k; p += warps) {
      const int64_t s = p / k, c = p % k;
      const scalar_t dot = warp_csr_dot(a.x.row(i0 + s), w + c * in, lane);
      if (lane == 0) a.z[p] = dot + a.b[c];
    }
    __syncthreads();
    if (warp == 0) {
      int first = m;
      for (int base = 0; base < m; base += kWarp) {
        const int s = base + lane;
        bool event = false;
        int64_t yhat = 0;
        if (s < m) {
          const scalar_t* zs = a.z + s * k;
          scalar_t best = 0;
          for (int64_t c = 0; c < k; ++c) {
            const scalar_t zc = zs[c];
            if (!isfinite(zc)) {
              yhat = -1;
              break;
            }
            if (c == 0 || zc > best) {
              best = zc;
              yhat = c;
            }
          }
          event = yhat < 0 || yhat != a.y[i0 + s];
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
      if (tid == 0) *a.bad_row = i;
      hooks.end();
      return;
    }
    if constexpr (decltype(hooks)::kCountsCorrect) hooks.correct(f);
    const int64_t t = a.y[i];
    const scalar_t step = a.sw != nullptr ? a.lr * a.sw[i] : a.lr;
    const CsrRow<scalar_t, index_t> row = a.x.row(i);
    hooks.mistake(i, row, t, yhat, step, model);
    __syncthreads();  // as in csr_online_kernel: the hooks' reads first
    row.add_to(w + t * in, step, tid, blockDim.x);
    row.add_to(w + yhat * in, -step, tid, blockDim.x);
    if (a.bias_step != 0 && tid == 0) {
      const scalar_t bias_by = step * a.bias_step;
      a.b[t] += bias_by;
      a.b[yhat] -= bias_by;
    }
    mistakes += 1;
    __syncthreads();
    i0 = i + 1;
    chunk = chunk / 2 > a.min_chunk ? chunk / 2 : a.min_chunk;
  }
  hooks.done(model);
  hooks.end();
  if (tid == 0) *a.mistakes = mistakes;
}

struct CsrMulticlassCall : CsrMulticlassOperands {
  using CsrMulticlassOperands::CsrMulticlassOperands;


  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    const torch::stable::accelerator::DeviceGuard guard(
        weight.get_device_index());
    const Tensor bad_row =
        torch::stable::full(std::vector<int64_t>{1}, -1.0, ScalarType::Long,
                            std::nullopt, weight.device());
    const int threads = threads_for(1);
    const int warps = threads / kWarp;
    const int min_chunk = static_cast<int>(std::max<int64_t>(1, warps / k));
    const int max_chunk =
        static_cast<int>(std::max<int64_t>(1, warps * kSamplesPerWarp / k));
    const Tensor z = torch::stable::empty(std::vector<int64_t>{max_chunk, k},
                                          weight.scalar_type(), std::nullopt,
                                          weight.device());
    const cudaStream_t stream = current_stream(weight.device());
    dispatch_float(weight.scalar_type(), "multiclass_update_csr_cuda", [&](auto tag) {
      using scalar_t = decltype(tag);
      dispatch_index(x, [&](auto itag) {
        using index_t = decltype(itag);
        auto policy = make(scalar_t{});
        using Policy = decltype(policy);
        const CsrMulticlassArgs<scalar_t, index_t, Policy> args{
            rows<scalar_t, index_t>(),
            w.mutable_data_ptr<scalar_t>(),
            b.mutable_data_ptr<scalar_t>(),
            y.const_data_ptr<int64_t>(),
            sw ? sw->const_data_ptr<scalar_t>() : nullptr,
            z.mutable_data_ptr<scalar_t>(),
            k, min_chunk, max_chunk,
            static_cast<scalar_t>(lr),
            static_cast<scalar_t>(bias_step),
            mistakes.mutable_data_ptr<int64_t>(),
            bad_row.mutable_data_ptr<int64_t>(),
            policy};
        csr_multiclass_kernel<scalar_t, index_t, Policy>
            <<<1, threads, 0, stream>>>(args);
        check_launch("multiclass_update_csr");
      });
    });
    return first_bad_row(bad_row);
  }
};

}  // namespace torch_perceptron::cuda
