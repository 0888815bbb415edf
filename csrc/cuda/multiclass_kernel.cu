// The multiclass perceptron on the GPU: one weight row per class, the predicted
// class is the argmax of the K decision values, and a mistake moves two rows.
//
// Every sample needs all K rows before it can update, so one persistent block
// holds all of them and walks the samples in chunks (see rules.cuh): the
// chunk's m * K decision values are computed in parallel, one warp per
// (sample, class) pair, then one warp finds the first sample whose argmax is
// wrong or whose values are not finite.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <algorithm>

#include "../checks.h"
#include "rules.cuh"

namespace torch_perceptron::cuda {
namespace {

template <typename scalar_t>
struct MulticlassArgs {
  scalar_t* w;             // [K, in], contiguous
  scalar_t* b;             // [K]
  const scalar_t* x;       // [N, in], contiguous
  const int64_t* y;        // [N] class indices in [0, K)
  const scalar_t* sw;      // [N] or nullptr
  scalar_t* z;             // [max_chunk, K] scratch for the chunk's values
  int64_t n, in, k;
  int min_chunk, max_chunk;  // samples per chunk
  scalar_t lr;
  bool weights_in_smem;
  int64_t* mistakes;       // [1]
  int64_t* bad_row;        // [1]: first row with a non-finite value, or -1
};

template <typename scalar_t>
__global__ void __launch_bounds__(1024)
    multiclass_kernel(const MulticlassArgs<scalar_t> a) {
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
  __syncthreads();

  int chunk = a.min_chunk;
  int64_t i0 = 0;
  while (i0 < a.n) {
    const int m = static_cast<int>(
        a.n - i0 < chunk ? a.n - i0 : static_cast<int64_t>(chunk));
    for (int64_t p = warp; p < m * k; p += warps) {
      const int64_t s = p / k, c = p % k;
      const scalar_t dot = warp_dot(w + c * in, a.x + (i0 + s) * in, in, lane);
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
      i0 += m;
      chunk = 2 * chunk < a.max_chunk ? 2 * chunk : a.max_chunk;
      continue;
    }

    const int64_t i = i0 + f;
    const int64_t yhat = event_yhat;
    if (yhat < 0) {
      // The host restores the weights from its snapshot and raises.
      if (tid == 0) *a.bad_row = i;
      return;
    }
    const int64_t t = a.y[i];
    const scalar_t step = a.sw != nullptr ? a.lr * a.sw[i] : a.lr;
    const scalar_t* xi = a.x + i * in;
    scalar_t* wt = w + t * in;
    scalar_t* wp = w + yhat * in;
    for (int64_t j = tid; j < in; j += blockDim.x) {
      wt[j] += step * xi[j];
      wp[j] += -step * xi[j];
    }
    if (tid == 0) {
      a.b[t] += step;
      a.b[yhat] -= step;
    }
    mistakes += 1;
    // The update (weights and bias) is visible to every warp, and z and the
    // event free for reuse, before the next chunk.
    __syncthreads();
    i0 = i + 1;
    chunk = chunk / 2 > a.min_chunk ? chunk / 2 : a.min_chunk;
  }

  if (a.weights_in_smem) {
    for (int64_t j = tid; j < k * in; j += blockDim.x) a.w[j] = w[j];
  }
  if (tid == 0) *a.mistakes = mistakes;
}

at::Tensor multiclass_update_cuda(
    at::Tensor& weight, at::Tensor& bias, const at::Tensor& x,
    const at::Tensor& y, double lr,
    const std::optional<at::Tensor>& sample_weight) {
  check_params(weight, bias);
  check_features(x, weight);
  check_lr(lr);
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t n = x.size(0), in = x.size(1), k = weight.size(0);
  const at::Tensor labels = class_labels(y, n, k, x.device());
  const at::Tensor sw =
      sample_weights(sample_weight, n, x.scalar_type(), x.device());
  const at::Tensor xc = x.contiguous();
  at::Tensor w = weight.contiguous();
  at::Tensor b = bias.contiguous();
  at::Tensor mistakes = at::zeros({1}, x.options().dtype(at::kLong));
  if (n == 0) return mistakes;

  const at::Tensor w_saved = w.clone(), b_saved = b.clone();
  at::Tensor bad_row = at::full({1}, -1, x.options().dtype(at::kLong));

  const int threads = threads_for(1);
  const int warps = threads / kWarp;
  // A chunk of at least one sample, and enough (sample, class) pairs to give
  // every warp one when K is small.
  const int min_chunk = static_cast<int>(std::max<int64_t>(1, warps / k));
  const int max_chunk =
      static_cast<int>(std::max<int64_t>(1, warps * kSamplesPerWarp / k));
  at::Tensor z = at::empty({max_chunk, k}, x.options());
  const int64_t weight_bytes = k * in * static_cast<int64_t>(x.element_size());
  const bool in_smem = weight_bytes <= kWeightSmemBytes;
  const size_t smem = in_smem ? static_cast<size_t>(weight_bytes) : 0;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();

  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "multiclass_update_cuda", [&] {
    const MulticlassArgs<scalar_t> args{
        w.data_ptr<scalar_t>(),
        b.data_ptr<scalar_t>(),
        xc.const_data_ptr<scalar_t>(),
        labels.const_data_ptr<int64_t>(),
        sw.defined() ? sw.const_data_ptr<scalar_t>() : nullptr,
        z.data_ptr<scalar_t>(),
        n, in, k,
        min_chunk, max_chunk,
        static_cast<scalar_t>(lr),
        in_smem,
        mistakes.data_ptr<int64_t>(),
        bad_row.data_ptr<int64_t>()};
    multiclass_kernel<scalar_t><<<1, threads, smem, stream>>>(args);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });

  const int64_t row = bad_row.item<int64_t>();
  if (row >= 0) {
    weight.copy_(w_saved);
    bias.copy_(b_saved);
    fail_non_finite_row(row);
  }
  copy_back_if_needed(weight, w);
  copy_back_if_needed(bias, b);
  return mistakes;
}

}  // namespace
}  // namespace torch_perceptron::cuda

TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("multiclass_update", &torch_perceptron::cuda::multiclass_update_cuda);
}
