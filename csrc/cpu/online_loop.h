// The loop of the online rule on the CPU, shared by the plain, averaged and
// pocket kernels.
//
// The rule is sequential over samples, so the only parallelism is across the K
// outputs: the outputs are cut into one contiguous share per thread, and each
// share runs over every sample once on the thread that claims it; with two
// threads and K <= kRowBlock the first thread starts with all outputs and
// hands half to the second when it comes (Handoff). K = 1 runs on one thread. (Each thread reads
// all of x. Two threads that walked the same samples in step, each prefetching half of the lines,
// were measured slower at 100,000 x 100 and no faster at 1,000,000 x 100 (BENCHMARKS.md, "Where
// the targets stand"): the time goes to the dots and the mistakes' dependency chains, not to
// memory.)
//
// What a variant does beyond the rule is a policy, whose hooks the loop calls
// as policies.h describes (each thread asks it for the hooks of its block of
// outputs); w_o there is the loop's own padded copy of the row (PaddedRows).
// The plain rule's hooks are empty and compile away.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "../checks.h"
#include "../online_step.h"
#include "../operands.h"
#include "../policies.h"
#include "../rows.h"
#include "lanes.h"
#include "threads.h"
#include "vec.h"

namespace torch_perceptron::cpu {

// Outputs per thread whose decision values are kept on the stack at once.
constexpr int64_t kRowBlock = 64;

template <typename scalar_t>
struct OnlineArgs {
  scalar_t* w;        // [K, in], contiguous
  scalar_t* b;        // [K]
  const scalar_t* x;  // [N, in], contiguous
  int64_t n, in, k;   // n: the visits (online_step.h's order)
  OnlineStep<scalar_t> rule;
  // Where a block's changed rows and biases are saved before they are
  // written back (restore.h), or nullptr; `alone`: one thread runs every
  // output, so its last block is written back once every row was good, and
  // need not be saved.
  UndoLog* log;
  bool alone;
  // The loop works on the caller's rows themselves (they are whole cache
  // lines, as its own copy's would be): no copy in or out, and each row is
  // logged before its first write of the call (saved[o], one flag an output).
  bool direct;
  char* saved;
};

// One sample for a group of R <= kGroupRows consecutive outputs o0, o0 + 1,
// ...: the decision values, thresholds and errors of the group as one vector,
// so that a correct prediction costs a few vector instructions for all R
// outputs, and a branch per mistake rather than per output. Returns false if
// a decision value is not finite (nothing of this group is updated then).
// kLoss: add the loss of each mistake, |z|, to loss[r] (a correct prediction's
// is 0, so it costs nothing); without it the loop is the plain one. Visit i
// reads sample s (row s of x, y and sample_weight: i itself without an order).
template <int R, bool kLoss, typename scalar_t, typename Hooks>
[[gnu::always_inline]] inline bool online_group(const OnlineArgs<scalar_t>& a, Hooks& hooks,
                                                int64_t i, int64_t s, const scalar_t* xi,
                                                int64_t o0, scalar_t* w_rows, int64_t stride,
                                                Lanes<scalar_t>& bias, int64_t* mistakes,
                                                double* loss) {
  using V = Lanes<scalar_t>;
  using M = LaneMask<scalar_t>;
  constexpr unsigned kLive = (1u << R) - 1;
  const V z = dots_group<R>(w_rows, stride, xi, a.in) + bias;
  const V t = load_lanes<R>(&a.rule.y[s * a.k + o0]);
  // Not finite: inf - inf and NaN - NaN are NaN; finite z - z is exactly 0.
  if (lane_bits(M((z - z) != 0)) & kLive) return false;
  // A mistake where [z > 0] differs from the target (and, counted as one, at
  // z == 0): one compare from z to the branch. The error y - yhat of a mistake
  // is then 2 t - 1, known from the targets alone.
  const M wrong_lanes = a.rule.template wrong<M>(z, t);
  const unsigned wrong = lane_bits(wrong_lanes) & kLive;
  if constexpr (Hooks::kCountsCorrect) {
    for (unsigned c = ~wrong & kLive; c != 0; c &= c - 1) {
      hooks.correct(o0 + __builtin_ctz(c), 1);
    }
  }
  if (wrong == 0) return true;
  const V step = a.rule.step(t, s);
  for (unsigned m = wrong; m != 0; m &= m - 1) {
    const int r = __builtin_ctz(m);
    mistakes[r] += 1;
    // max(0, -(2t - 1) * z) as scikit-learn's double: |z| at a mistake (0 at
    // a zero_is_mistake z == 0).
    if constexpr (kLoss) loss[r] += a.rule.loss_of(z[r]);
    hooks.mistake(o0 + r, i, DenseRow<scalar_t>{xi, a.in}, step[r], w_rows + r * stride, bias[r]);
    if (a.direct && a.saved[o0 + r] == 0) {
      a.saved[o0 + r] = 1;
      std::lock_guard<std::mutex> lock(a.log->mutex);
      a.log->save(w_rows + r * stride, a.in);
    }
    axpy_padded(w_rows + r * stride, xi, step[r], a.in);
  }
  // Only the lanes that took a step change: a correct lane keeps its exact
  // bits (adding a zero step could turn a -0 bias into +0), and a
  // bias_step of 0 leaves every lane's bits as they are.
  if (a.rule.bias_step != 0) {
    M live = {};
    for (int r = 0; r < R; ++r) live[r] = -1;
    bias = (wrong_lanes & live) ? bias + a.rule.bias_gain(step) : bias;
  }
  return true;
}

// Two threads on one block of outputs. The first to come starts with all of
// them; when the second arrives (at once on an idle machine, milliseconds
// later or never on a busy one), the first hands it the upper half at its next
// check, every kCheckSamples samples, and both go on from that sample. So a
// late second thread costs nothing, where a fixed split would wait for it.
struct Handoff {
  static constexpr int64_t kCheckSamples = 64;
  enum State : int { kOpen, kAsked, kGiven, kClosed };
  alignas(64) std::atomic<int> state{kOpen};
  std::atomic<int64_t> at{0};  // the sample the upper half goes on from
};

// Runs outputs [k0, k1) over all samples, kRowBlock outputs at a time so that
// each sample is read once per block, in groups of four (online_group). The
// outputs never touch each other's rows, so computing a block's decision
// values before applying its updates is the same as going output by output.
// Returns the first row whose decision value is not finite, or -1.
//
// From sample i0 on (the samples before it are done). With a handoff, gives
// the outputs up when asked: writes them back, sets *handed_at to the sample
// they go on from, and returns -1. kLoss: a.rule.loss is there (online_rows below).
//
// kOrder: the visits read their rows through a.rule.order. One order for all
// outputs keeps the blocks and groups (every output of a group reads the same
// row); one order per output runs the outputs one at a time (each its own
// row at each visit), in blocks of one. The row returned is then x's.
template <bool kLoss, bool kOrder, typename scalar_t, typename Policy>
int64_t online_rows_summing(const OnlineArgs<scalar_t>& a, Policy& policy, int64_t k0, int64_t k1,
                            const std::atomic<bool>& stop, int64_t i0, Handoff* handoff,
                            int64_t* handed_at) {
  constexpr int64_t G = kGroupRows;
  constexpr int64_t kGroups = kRowBlock / G;
  const int64_t block = kOrder && a.rule.order_stride != 0 ? 1 : kRowBlock;
  // The block's weights, biases and mistake counts live in this thread's own
  // memory while it runs: in the shared arrays, neighbouring outputs of two
  // threads sit in one cache line, which would bounce between the cores on
  // every mistake.
  Lanes<scalar_t> bias[kGroups] = {};
  int64_t mistakes[kRowBlock];
  // The loss sums go on from what a.rule.loss holds, as the weights do, so a sum
  // is added in sample order across a handoff and across calls.
  double loss[kRowBlock];
  PaddedRows<scalar_t> w(a.direct ? 0 : std::min(block, k1 - k0), a.in);
  const int64_t stride = a.direct ? a.in : w.stride();
  for (int64_t blk = k0; blk < k1; blk += block) {
    const int64_t rows = std::min(block, k1 - blk);
    const int64_t* order = kOrder ? a.rule.order + blk * a.rule.order_stride : nullptr;
    const int64_t full = rows / G, rest = rows % G;
    auto hooks = policy.begin(blk, rows);
    if (!a.direct) w.load_from(a.w + blk * a.in, a.in, rows, a.in);
    auto row_of = [&](int64_t r) { return a.direct ? a.w + (blk + r) * a.in : w.row(r); };
    for (int64_t r = 0; r < rows; ++r) {
      bias[r / G][r % G] = a.b[blk + r];
      mistakes[r] = 0;
      if constexpr (kLoss) loss[r] = a.rule.loss[blk + r];
    }
    // Writes the block back: only the rows a mistake changed (the others
    // hold the same bits), each saved first while a later row could still
    // fail. At a bad row, or when another thread found one, nothing is
    // written: what this thread wrote before is in the log.
    auto flush = [&](bool write) {
      if (write) {
        const bool save = a.log != nullptr && !(a.alone && blk + block >= k1);
        std::unique_lock<std::mutex> lock;
        if (save) lock = std::unique_lock<std::mutex>(a.log->mutex);
        for (int64_t r = 0; r < rows; ++r) {
          if (mistakes[r] != 0) {
            if (!a.direct) {
              scalar_t* dst = a.w + (blk + r) * a.in;
              if (save) a.log->save(dst, a.in);
              std::memcpy(dst, w.row(r), a.in * sizeof(scalar_t));
            }
            if (save) a.log->save(a.b + blk + r, 1);
            a.b[blk + r] = bias[r / G][r % G];
          }
          a.rule.mistakes[blk + r] += mistakes[r];
          if constexpr (kLoss) a.rule.loss[blk + r] = loss[r];
        }
      }
      hooks.end();
    };
    for (int64_t i = i0; i < a.n; ++i) {
      if (handoff != nullptr && i % Handoff::kCheckSamples == 0 &&
          handoff->state.load(std::memory_order_acquire) == Handoff::kAsked) {
        flush(true);
        *handed_at = i;
        return -1;
      }
      int64_t s = i;
      if constexpr (kOrder) {
        s = order[i];
        prefetch_ordered_row(a.x, order, i, a.n, a.in);
      } else {
        prefetch_row_ahead(a.x, i, a.n, a.in);
      }
      const scalar_t* xi = a.x + s * a.in;
      bool finite = true;
      for (int64_t g = 0; g < full; ++g) {
        finite &= online_group<G, kLoss>(a, hooks, i, s, xi, blk + G * g, row_of(G * g), stride,
                                         bias[g], mistakes + G * g, loss + G * g);
      }
      if (rest != 0) {
        const int64_t g = full;
        finite &= with_rows(rest, [&](auto r) __attribute__((always_inline)) {
          return online_group<decltype(r)::value, kLoss>(a, hooks, i, s, xi, blk + G * g,
                                                         row_of(G * g), stride, bias[g],
                                                         mistakes + G * g, loss + G * g);
        });
      }
      if (!finite) {
        flush(false);
        return s;
      }
      if (stop.load(std::memory_order_relaxed)) {
        flush(false);
        return -1;
      }
    }
    for (int64_t r = 0; r < rows; ++r) { hooks.done(blk + r, row_of(r), bias[r / G][r % G]); }
    flush(true);
  }
  return -1;
}

// online_rows_summing with the loss sums when the call asked for them, and
// through the order when it gave one: the plain loop otherwise, not a branch
// more.
template <typename scalar_t, typename Policy>
int64_t online_rows(const OnlineArgs<scalar_t>& a, Policy& policy, int64_t k0, int64_t k1,
                    const std::atomic<bool>& stop, int64_t i0 = 0, Handoff* handoff = nullptr,
                    int64_t* handed_at = nullptr) {
  auto run = [&](auto loss, auto ordered) {
    return online_rows_summing<decltype(loss)::value, decltype(ordered)::value>(
        a, policy, k0, k1, stop, i0, handoff, handed_at);
  };
  using Yes = std::true_type;
  using No = std::false_type;
  if (a.rule.order != nullptr) {
    return a.rule.loss != nullptr ? run(Yes{}, Yes{}) : run(No{}, Yes{});
  }
  return a.rule.loss != nullptr ? run(Yes{}, No{}) : run(No{}, No{});
}

// One call of an online-rule op on the CPU: its operands (see operands.h) and
// how to run the rule on them.
struct OnlineCall : OnlineOperands {
  using OnlineOperands::OnlineOperands;

  // Each block's rows are written back once, changed rows only, each saved
  // first (see online_rows_summing's flush): never more than a snapshot.
  Restore restore_plan() const { return Restore::kLog; }

  // Two threads on the K <= kRowBlock outputs (see Handoff).
  template <typename scalar_t, typename Policy, typename Record>
  void run_handing_off(const OnlineArgs<scalar_t>& args, Policy& policy, std::atomic<bool>& stop,
                       Record& record) {
    Handoff handoff;
    std::atomic<int> arrived{0}, running{1};
    const int64_t mid = k / 2;
    torch::stable::parallel_for(0, 2, 1, [&](int64_t, int64_t) {
      if (arrived++ == 0) {
        int64_t at = -1;
        record(online_rows(args, policy, 0, k, stop, 0, &handoff, &at));
        if (at >= 0) {
          running.store(2);
          handoff.at.store(at, std::memory_order_relaxed);
          handoff.state.store(Handoff::kGiven, std::memory_order_release);
          record(online_rows(args, policy, 0, mid, stop, at));
        } else {
          // Done (or stopped) before anyone asked: nothing to hand over.
          handoff.state.store(Handoff::kClosed, std::memory_order_release);
        }
      } else {
        int open = Handoff::kOpen;
        if (!handoff.state.compare_exchange_strong(open, Handoff::kAsked)) {
          return;  // the first thread is already done
        }
        int state = Handoff::kAsked;
        for (int spins = 0; state == Handoff::kAsked; ++spins) {
          if (spins % 1024 == 1023) std::this_thread::yield();
          state = handoff.state.load(std::memory_order_acquire);
        }
        if (state != Handoff::kGiven) return;
        record(online_rows(args, policy, mid, k, stop, handoff.at.load(std::memory_order_relaxed)));
      }
      // The other half is awaited asleep, not spinning in the runtime's
      // barrier, so that a thread kept off its core can move onto this one.
      if (--running == 0) {
        running.notify_all();
      } else {
        for (int r = running.load(); r > 0; r = running.load()) running.wait(r);
      }
    });
  }

  // Runs the rule with the policy that make(scalar_t{}) builds. Returns the
  // first row of x with a non-finite decision value, or -1; on such a row
  // blocks written back before it are in the undo log (restore.h).
  template <typename MakePolicy>
  int64_t run(MakePolicy make) {
    if (n == 0) return -1;
    // Every thread reads `stop` after each sample: its own cache line, so
    // no write nearby makes that read miss.
    alignas(64) std::atomic<bool> stop{false};
    // The row found is x's (past n, the visits, when an order is given).
    std::atomic<int64_t> bad_row{INT64_MAX};
    dispatch_float(x.scalar_type(), "the online rule", [&](auto tag) {
      using scalar_t = decltype(tag);
      // One share of the outputs per thread, claimed by whichever thread
      // comes: on a busy machine a thread may start late, and then the
      // first one runs its share too instead of waiting for it.
      const bool per_output = order_stride != 0;
      const int64_t threads = threads_for(n * in * k, k);
      // One order per output runs the outputs one by one (online_rows):
      // each a share of its own, claimed as the threads come free, so that
      // they end together however long each output's mistakes take.
      const int64_t shares = per_output && threads > 1 ? k : threads;
      // Rows that are whole, aligned cache lines need no working copy (see
      // PaddedRows); every call logs (restore_plan), so their first writes
      // can be undone.
      scalar_t* const wp = w.mutable_data_ptr<scalar_t>();
      UndoLog* const log = journal.open(sizeof(scalar_t));
      const bool direct =
          log != nullptr &&
          (in * static_cast<int64_t>(sizeof(scalar_t))) % PaddedRows<scalar_t>::kAlign == 0 &&
          reinterpret_cast<uintptr_t>(wp) % PaddedRows<scalar_t>::kAlign == 0;
      std::vector<char> saved(direct ? k : 0, 0);
      const OnlineArgs<scalar_t> args{wp,
                                      b.mutable_data_ptr<scalar_t>(),
                                      x.const_data_ptr<scalar_t>(),
                                      n,
                                      in,
                                      k,
                                      online_step<scalar_t>(*this),
                                      log,
                                      /*alone=*/shares == 1,
                                      direct,
                                      saved.data()};
      auto policy = make(scalar_t{});
      auto record = [&](int64_t row) {
        if (row >= 0) {
          stop.store(true, std::memory_order_relaxed);
          int64_t seen = bad_row.load();
          while (row < seen && !bad_row.compare_exchange_weak(seen, row)) {}
        }
      };
      if (threads == 2 && !per_output && k <= kRowBlock) {
        run_handing_off(args, policy, stop, record);
        return;
      }
      std::atomic<int64_t> next{0}, finished{0};
      torch::stable::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
        for (int64_t s = next++; s < shares; s = next++) {
          record(online_rows(args, policy, s * k / shares, (s + 1) * k / shares, stop));
          if (++finished == shares) finished.notify_all();
        }
        // The shares other threads run are awaited asleep, not spinning in
        // the runtime's barrier: a thread that another process keeps off its
        // core can then be moved onto this one.
        for (int64_t f = finished.load(); f < shares; f = finished.load()) { finished.wait(f); }
      });
    });
    return stop.load() ? bad_row.load() : -1;
  }
};

}  // namespace torch_perceptron::cpu
