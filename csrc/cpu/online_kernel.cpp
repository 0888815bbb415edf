// The seed's online rule on the CPU, for K independent outputs (one-vs-rest).
//
// The rule is sequential over samples, so the only parallelism is across the K
// outputs: each thread owns a contiguous block of weight rows and streams every
// sample once for that block. K = 1 runs on one thread.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "../checks.h"
#include "vec.h"

namespace torch_perceptron {
namespace {

// Below this many multiply-adds per call, waking a second thread costs more
// than it saves (e.g. Lightning's small batches).
constexpr int64_t kMinParallelWork = 1 << 15;

template <typename scalar_t>
struct OnlineArgs {
  scalar_t* w;             // [K, in], contiguous
  scalar_t* b;             // [K]
  const scalar_t* x;       // [N, in], contiguous
  const scalar_t* y;       // [N, K] of 0/1
  const scalar_t* sw;      // [N] or nullptr
  int64_t n, in, k;
  scalar_t lr;
  bool zero_is_mistake;
  int64_t* mistakes;       // [K]
};

// Runs outputs [k0, k1) over all samples. Returns the first row whose decision
// value is not finite, or -1.
// Outputs per thread whose decision values are kept on the stack at once.
constexpr int64_t kRowBlock = 64;

// Runs outputs [k0, k1) over all samples, kRowBlock outputs at a time so that
// each sample is read once per block. The outputs never touch each other's
// rows, so computing a block's decision values before applying its updates is
// the same as going output by output. Returns the first row whose decision
// value is not finite, or -1.
template <typename scalar_t>
int64_t online_rows(const OnlineArgs<scalar_t>& a, int64_t k0, int64_t k1,
                    const std::atomic<bool>& stop) {
  scalar_t z[kRowBlock];
  for (int64_t blk = k0; blk < k1; blk += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, k1 - blk);
    for (int64_t i = 0; i < a.n; ++i) {
      const scalar_t* xi = a.x + i * a.in;
      cpu::prefetch_row_ahead(a.x, i, a.n, a.in);
      const scalar_t* yi = a.y + i * a.k;
      cpu::dots(a.w + blk * a.in, a.in, xi, a.in, rows, z);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t o = blk + r;
        const scalar_t zo = z[r] + a.b[o];
        if (!std::isfinite(zo)) return i;
        const scalar_t t = yi[o];
        scalar_t yhat = zo > 0 ? scalar_t(1) : scalar_t(0);
        if (a.zero_is_mistake && zo == 0) yhat = 1 - t;
        const scalar_t err = t - yhat;
        if (err != 0) {
          a.mistakes[o] += 1;
          scalar_t step = a.lr * err;
          if (a.sw != nullptr) step = a.lr * a.sw[i] * err;
          cpu::axpy(a.w + o * a.in, xi, step, a.in);
          a.b[o] += step;
        }
      }
      if (stop.load(std::memory_order_relaxed)) return -1;
    }
  }
  return -1;
}

at::Tensor online_update_cpu(at::Tensor& weight, at::Tensor& bias,
                             const at::Tensor& x, const at::Tensor& y,
                             double lr,
                             const std::optional<at::Tensor>& sample_weight,
                             bool zero_is_mistake) {
  check_params(weight, bias);
  check_features(x, weight);
  check_lr(lr);
  const int64_t n = x.size(0), in = x.size(1), k = weight.size(0);
  const at::Tensor labels = binary_labels(y, n, k, x.scalar_type(), x.device());
  const at::Tensor sw =
      sample_weights(sample_weight, n, x.scalar_type(), x.device());
  const at::Tensor xc = x.contiguous();
  at::Tensor w = weight.contiguous();
  at::Tensor b = bias.contiguous();
  at::Tensor mistakes = at::zeros({k}, x.options().dtype(at::kLong));
  if (n == 0) return mistakes;

  // Finiteness of x is checked in the same pass (see checks.h): keep what to
  // restore if a bad row turns up after some updates.
  const at::Tensor w_saved = w.clone(), b_saved = b.clone();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> bad_row{n};

  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "online_update_cpu", [&] {
    const OnlineArgs<scalar_t> args{
        w.data_ptr<scalar_t>(),
        b.data_ptr<scalar_t>(),
        xc.const_data_ptr<scalar_t>(),
        labels.const_data_ptr<scalar_t>(),
        sw.defined() ? sw.const_data_ptr<scalar_t>() : nullptr,
        n, in, k,
        static_cast<scalar_t>(lr),
        zero_is_mistake,
        mistakes.data_ptr<int64_t>()};
    const int64_t grain = n * in * k < kMinParallelWork ? k : 1;
    at::parallel_for(0, k, grain, [&](int64_t k0, int64_t k1) {
      const int64_t row = online_rows(args, k0, k1, stop);
      if (row >= 0) {
        stop.store(true, std::memory_order_relaxed);
        int64_t seen = bad_row.load();
        while (row < seen && !bad_row.compare_exchange_weak(seen, row)) {
        }
      }
    });
  });

  if (stop.load()) {
    weight.copy_(w_saved);
    bias.copy_(b_saved);
    fail_non_finite_row(bad_row.load());
  }
  copy_back_if_needed(weight, w);
  copy_back_if_needed(bias, b);
  return mistakes;
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("online_update", &online_update_cpu);
}

}  // namespace torch_perceptron
