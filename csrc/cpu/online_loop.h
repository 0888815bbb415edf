// The loop of the online rule on the CPU, shared by the plain, averaged and
// pocket kernels.
//
// The rule is sequential over samples, so the only parallelism is across the K
// outputs: each thread owns a contiguous block of weight rows and streams every
// sample once for that block. K = 1 runs on one thread.
//
// What a variant does beyond the rule is a Policy with three hooks, called for
// output o: correct(o) after a correct prediction, mistake(o, i, x_i, step,
// bias_o) before the weights take the step, and done(o, bias_o) after the last
// sample; bias_o is the output's current bias (the loop keeps it on its stack). A hook
// touches only row o of its own state, so the outputs stay independent and the
// threads never share a write. The plain rule's hooks are empty and compile
// away: its loop is the same code as before the variants existed.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>

#include "../checks.h"
#include "../operands.h"
#include "vec.h"

namespace torch_perceptron::cpu {

// Below this many multiply-adds per call, waking a second thread costs more
// than it saves (e.g. Lightning's small batches).
constexpr int64_t kMinParallelWork = 1 << 15;

// Outputs per thread whose decision values are kept on the stack at once.
constexpr int64_t kRowBlock = 64;

template <typename scalar_t>
struct OnlineArgs {
  scalar_t* w;         // [K, in], contiguous
  scalar_t* b;         // [K]
  const scalar_t* x;   // [N, in], contiguous
  const scalar_t* y;   // [N, K] of 0/1
  const scalar_t* sw;  // [N] or nullptr
  int64_t n, in, k;
  scalar_t lr;
  bool zero_is_mistake;
  bool fit_intercept;  // false: the bias stays as it is
  int64_t* mistakes;   // [K]
};

struct NoPolicy {
  void correct(int64_t) {}
  template <typename scalar_t>
  void mistake(int64_t, int64_t, const scalar_t*, scalar_t, scalar_t) {}
  template <typename scalar_t>
  void done(int64_t, scalar_t) {}
};

// Runs outputs [k0, k1) over all samples, kRowBlock outputs at a time so that
// each sample is read once per block. The outputs never touch each other's
// rows, so computing a block's decision values before applying its updates is
// the same as going output by output. Returns the first row whose decision
// value is not finite, or -1.
template <typename scalar_t, typename Policy>
int64_t online_rows(const OnlineArgs<scalar_t>& a, Policy& policy, int64_t k0,
                    int64_t k1, const std::atomic<bool>& stop) {
  // The block's biases and mistake counts live on this thread's stack while
  // it runs: in the shared arrays, neighbouring outputs of two threads sit in
  // one cache line, which would bounce between the cores on every mistake.
  scalar_t z[kRowBlock], bias[kRowBlock];
  int64_t mistakes[kRowBlock];
  for (int64_t blk = k0; blk < k1; blk += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, k1 - blk);
    for (int64_t r = 0; r < rows; ++r) {
      bias[r] = a.b[blk + r];
      mistakes[r] = 0;
    }
    auto flush = [&] {
      for (int64_t r = 0; r < rows; ++r) {
        a.b[blk + r] = bias[r];
        a.mistakes[blk + r] += mistakes[r];
      }
    };
    for (int64_t i = 0; i < a.n; ++i) {
      const scalar_t* xi = a.x + i * a.in;
      prefetch_row_ahead(a.x, i, a.n, a.in);
      const scalar_t* yi = a.y + i * a.k;
      dots(a.w + blk * a.in, a.in, xi, a.in, rows, z);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t o = blk + r;
        const scalar_t zo = z[r] + bias[r];
        if (!std::isfinite(zo)) {
          flush();
          return i;
        }
        const scalar_t t = yi[o];
        scalar_t yhat = zo > 0 ? scalar_t(1) : scalar_t(0);
        if (a.zero_is_mistake && zo == 0) yhat = 1 - t;
        const scalar_t err = t - yhat;
        if (err != 0) {
          mistakes[r] += 1;
          scalar_t step = a.lr * err;
          if (a.sw != nullptr) step = a.lr * a.sw[i] * err;
          policy.mistake(o, i, xi, step, bias[r]);
          axpy(a.w + o * a.in, xi, step, a.in);
          if (a.fit_intercept) bias[r] += step;
        } else {
          policy.correct(o);
        }
      }
      if (stop.load(std::memory_order_relaxed)) {
        flush();
        return -1;
      }
    }
    for (int64_t r = 0; r < rows; ++r) policy.done(blk + r, bias[r]);
    flush();
  }
  return -1;
}

// One call of an online-rule op on the CPU: its operands (see operands.h) and
// how to run the rule on them.
struct OnlineCall : OnlineOperands {
  using OnlineOperands::OnlineOperands;

  // Runs the rule with the policy that make(scalar_t{}) builds. Returns the
  // first row of x with a non-finite decision value, or -1; on such a row
  // some outputs may have been updated, and the caller restores them.
  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    if (n == 0) return -1;
    std::atomic<bool> stop{false};
    std::atomic<int64_t> bad_row{n};
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "online_update_cpu", [&] {
      const OnlineArgs<scalar_t> args{
          w.data_ptr<scalar_t>(),
          b.data_ptr<scalar_t>(),
          x.const_data_ptr<scalar_t>(),
          y.const_data_ptr<scalar_t>(),
          sw.defined() ? sw.const_data_ptr<scalar_t>() : nullptr,
          n, in, k,
          static_cast<scalar_t>(lr),
          zero_is_mistake,
          fit_intercept,
          mistakes.data_ptr<int64_t>()};
      auto policy = make(scalar_t{});
      const int64_t grain = n * in * k < kMinParallelWork ? k : 1;
      at::parallel_for(0, k, grain, [&](int64_t k0, int64_t k1) {
        const int64_t row = online_rows(args, policy, k0, k1, stop);
        if (row >= 0) {
          stop.store(true, std::memory_order_relaxed);
          int64_t seen = bad_row.load();
          while (row < seen && !bad_row.compare_exchange_weak(seen, row)) {
          }
        }
      });
    });
    return stop.load() ? bad_row.load() : -1;
  }
};

}  // namespace torch_perceptron::cpu
