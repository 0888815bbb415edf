// The hook protocol of the variants (averaged, pocket): what a policy does
// beside a rule's loop, on every device. The one description of it; the loops
// (cpu/online_loop.h, cpu/multiclass_loop.h, cuda/online_rule.cuh,
// cuda/multiclass_rule.cuh, and the CSR loops) and the policies
// ({cpu,cuda}/averaged_policy.*, {cpu,cuda}/pocket_policy.*) point here.
//
// A variant is the plain rule plus a policy: variant_state.h builds it from the
// AveragedArgs / PocketArgs of the call, the loop asks it for the hooks of
// the outputs it runs and calls them as below. A hook gets the sample's row
// (rows.h: DenseRow, or CsrRow for sparse input), never a raw pointer, so one
// policy serves every input format. i is the sample's index in the call
// (0-based); step is the weights' step of the mistake (lr * sample_weight *
// err for the online rule, lr * sample_weight for the multiclass one); the
// bias's own step is step * bias_step (ops.cpp).
//
// The online rule (K independent outputs):
//   policy.begin(o0, outputs) -> hooks   the hooks of outputs
//                                        [o0, o0 + outputs), before the loop
//                                        runs them (on the CPU a thread's
//                                        block of outputs, maybe from a
//                                        sample past 0 after a handover; on
//                                        CUDA a thread block's one output);
//   hooks.correct(o, count)              after `count` correct predictions of
//                                        output o in a row;
//   hooks.mistake(o, i, row, step, w_o, bias_o)
//                                        at a mistake, before w_o gains
//                                        step * row and bias_o its step;
//   hooks.done(o, w_o, bias_o)           after the call's last sample;
//   hooks.end()                          when the loop stops running these
//                                        outputs (after done(), at a
//                                        non-finite row, or when it hands
//                                        them to another thread mid-call):
//                                        writes back what the hooks kept
//                                        locally.
// w_o [in] and bias_o are output o's current weights and bias, as the loop
// holds them (its own padded or shared-memory copy). A hook touches only
// output o's part of the policy's state, so the outputs stay independent.
// Hooks::kCountsCorrect false says correct() does nothing: a loop may then
// skip the calls.
//
// The multiclass rule (one model of K rows, all of them moved by a mistake):
//   policy.begin() -> hooks;
//   hooks.correct(count);
//   hooks.mistake(i, row, t, yhat, step, model)
//                                        before row t gains step * row and
//                                        row yhat loses it;
//   hooks.done(model);
//   hooks.end(),
// where model is the loop's current copy of the weights and biases:
// model.row(c), model.bias_of(c), model.copy_to(dst_w [K, in], dst_b [K]).
//
// The devices differ in who calls a hook, and their policies have distinct
// names for it:
// - CPU (cpu::*Policy): one thread calls it. correct() comes once per
//   correct prediction (count 1). The hooks of a thread's block of outputs
//   keep what changes on every sample (pocket's run lengths) in the thread's
//   own memory until end(): neighbouring outputs of two threads would share
//   a cache line that bounces between the cores.
// - CUDA (cuda::*BlockPolicy): every thread of the thread block calls it,
//   with the same arguments, so each thread keeps the same copy of what the
//   hooks track, their branches agree, and a hook may use the whole block
//   (its elements shared out as row.add_to(w, coef, threadIdx.x,
//   blockDim.x) shares them; model.copy_to is such a copy). correct() comes
//   once per chunk of correct samples (rules.cuh). A hook that writes w_o's
//   elements uses the step's thread mapping (element j by thread
//   j % blockDim.x), so it needs no barrier against the step that follows;
//   one that writes more (the multiclass pocket's whole model) ends with
//   __syncthreads().
//
// The plain rules run the no-op policies below, whose hooks compile away.
#pragma once

#include <cstdint>

#include "rows.h"

namespace torch_perceptron {

struct NoPolicy {
  static constexpr bool kCountsCorrect = false;
  TP_HOST_DEVICE NoPolicy begin(int64_t, int64_t) const { return {}; }
  TP_HOST_DEVICE void correct(int64_t, int64_t) {}
  template <typename Row, typename scalar_t>
  TP_HOST_DEVICE void mistake(int64_t, int64_t, const Row&, scalar_t, const scalar_t*, scalar_t) {}
  template <typename scalar_t>
  TP_HOST_DEVICE void done(int64_t, const scalar_t*, scalar_t) {}
  TP_HOST_DEVICE void end() {}
};

struct NoMulticlassPolicy {
  static constexpr bool kCountsCorrect = false;
  TP_HOST_DEVICE NoMulticlassPolicy begin() const { return {}; }
  TP_HOST_DEVICE void correct(int64_t) {}
  template <typename Row, typename scalar_t, typename Model>
  TP_HOST_DEVICE void mistake(int64_t, const Row&, int64_t, int64_t, scalar_t, const Model&) {}
  template <typename Model>
  TP_HOST_DEVICE void done(const Model&) {}
  TP_HOST_DEVICE void end() {}
};

}  // namespace torch_perceptron
