// The one thread policy of the CPU ops: how many threads a call takes.
//
// The rules are sequential over samples, so a second thread can only take
// some of the outputs, and it pays only when the call is long against what a
// second thread costs to come: its wake-up on a quiet machine, and on a busy
// one (another process on the other core, joblib workers) a scheduler's
// time slice or more before it runs at all, while the first waits for it at
// the end of the parallel region. Below kMinParallelWork the call runs on
// the caller's thread alone; above it, on up to torch's intra-op threads
// (torch.get_num_threads(), which torch sets from OMP_NUM_THREADS, as joblib's
// loky workers and threadpoolctl's limits set it). The figures that placed
// the bound are in BENCHMARKS.md ("What a call costs").
#pragma once

#include <algorithm>
#include <cstdint>

#include "../stable.h"

namespace torch_perceptron::cpu {

// Work: multiply-adds (dense: samples x features x outputs) or non-zeros x
// outputs (CSR), the reads a call's dot products make.
constexpr int64_t kMinParallelWork = int64_t{1} << 22;

// Threads for a call of `work` whose outputs split into at most `shares`.
inline int64_t threads_for(int64_t work, int64_t shares) {
  if (work < kMinParallelWork || shares < 2) return 1;
  return std::min<int64_t>(shares, std::max<int64_t>(1, torch::stable::get_num_threads()));
}

}  // namespace torch_perceptron::cpu
