#include "csr_checks.h"

#include <cmath>

namespace torch_perceptron {
namespace {

bool is_index(ScalarType t) { return t == ScalarType::Int || t == ScalarType::Long; }

template <typename index_t>
int64_t at(const Tensor& t, int64_t i) {
  return static_cast<int64_t>(t.const_data_ptr<index_t>()[i]);
}

// Step 3 on the CPU: O(N), before anything reads a row.
template <typename index_t>
void check_crow_cpu(const CsrInput& x) {
  const index_t* crow = x.crow.const_data_ptr<index_t>();
  if (crow[0] != 0) fail_csr(x, CsrFault::kCrowStart, 0, 0);
  if (static_cast<int64_t>(crow[x.n]) != x.nnz) { fail_csr(x, CsrFault::kCrowEnd, x.n, x.n); }
  bool ok = true;
  for (int64_t i = 1; i <= x.n; ++i) ok &= crow[i] >= crow[i - 1];
  if (ok) return;
  for (int64_t i = 1; i <= x.n; ++i) {
    if (crow[i] < crow[i - 1]) fail_csr(x, CsrFault::kCrowOrder, i - 1, i);
  }
}

}  // namespace

CsrInput check_csr(const Tensor& crow_indices, const Tensor& col_indices, const Tensor& values,
                   int64_t n_features, const Tensor& weight) {
  // 1. dtypes and devices.
  TP_CHECK(is_index(crow_indices.scalar_type()),
           "crow_indices: expected dtype int32 or int64, got ", crow_indices.scalar_type());
  TP_CHECK(col_indices.scalar_type() == crow_indices.scalar_type(), "col_indices: expected dtype ",
           crow_indices.scalar_type(), " (the crow_indices'), got ", col_indices.scalar_type());
  TP_CHECK(values.scalar_type() == weight.scalar_type(), "values: expected dtype ",
           weight.scalar_type(), " (the weight's), got ", values.scalar_type());
  const Device device = weight.device();
  TP_CHECK(crow_indices.device() == device, "crow_indices: expected device ", device,
           " (the weight's), got ", crow_indices.device());
  TP_CHECK(col_indices.device() == device, "col_indices: expected device ", device,
           " (the weight's), got ", col_indices.device());
  TP_CHECK(values.device() == device, "values: expected device ", device, " (the weight's), got ",
           values.device());
  // 2. shapes.
  TP_CHECK(crow_indices.dim() == 1 && crow_indices.size(0) >= 1,
           "crow_indices: expected a 1-D tensor [N + 1] (N >= 0 rows), got "
           "shape ",
           shape(crow_indices));
  TP_CHECK(col_indices.dim() == 1, "col_indices: expected a 1-D tensor [nnz], got shape ",
           shape(col_indices));
  TP_CHECK(values.dim() == 1 && values.size(0) == col_indices.size(0),
           "values: expected a 1-D tensor [nnz] with nnz=", col_indices.size(0),
           " (one per entry of col_indices), got shape ", shape(values));
  TP_CHECK(n_features == weight.size(1), "n_features: expected ", weight.size(1),
           " (weight has shape ", shape(weight), "), got ", n_features);
  CsrInput x;
  x.crow = as_contiguous(crow_indices);
  x.col = as_contiguous(col_indices);
  x.values = as_contiguous(values);
  x.n = crow_indices.size(0) - 1;
  x.nnz = col_indices.size(0);
  x.features = n_features;
  // 3. (and 4 on CUDA).
  if (device.type() == DeviceType::CPU) {
    dispatch_index(x, [&](auto tag) { check_crow_cpu<decltype(tag)>(x); });
  } else {
#ifdef WITH_CUDA
    check_csr_rows_cuda(x);
    x.rows_checked = true;
#else
    TP_CHECK(false, "values: no sparse kernels for device ", device);
#endif
  }
  return x;
}

void fail_csr(const CsrInput& x, CsrFault fault, int64_t row, int64_t pos) {
  // The tensors may live on a GPU: read the one entry the message quotes.
  auto entry = [](Tensor t, int64_t i) {
    const Tensor one =
        torch::stable::to(torch::stable::narrow(t, 0, i, 1), Device(DeviceType::CPU));
    return one.scalar_type() == ScalarType::Int ? at<int32_t>(one, 0) : at<int64_t>(one, 0);
  };
  switch (fault) {
    case CsrFault::kCrowStart:
      TP_CHECK_VALUE(false, "crow_indices: expected crow_indices[0] == 0, got ", entry(x.crow, 0));
    case CsrFault::kCrowEnd:
      TP_CHECK_VALUE(false, "crow_indices: expected crow_indices[", x.n, "] == nnz == ", x.nnz,
                     " (the length of col_indices and values), got ", entry(x.crow, x.n));
    case CsrFault::kCrowOrder:
      TP_CHECK_VALUE(false,
                     "crow_indices: expected non-decreasing row offsets, got "
                     "crow_indices[",
                     pos, "] = ", entry(x.crow, pos), " < crow_indices[", pos - 1,
                     "] = ", entry(x.crow, pos - 1));
    case CsrFault::kColumnRange:
      TP_CHECK_VALUE(false, "col_indices: expected column indices in [0, ", x.features,
                     ") (n_features), got col_indices[", pos, "] = ", entry(x.col, pos), " in row ",
                     row);
    case CsrFault::kColumnOrder:
      TP_CHECK_VALUE(false,
                     "col_indices: expected strictly increasing columns within "
                     "a row (canonical CSR: torch_perceptron.sparse.as_csr "
                     "sums duplicates and sorts), got col_indices[",
                     pos, "] = ", entry(x.col, pos), " after ", entry(x.col, pos - 1), " in row ",
                     row);
    case CsrFault::kValueNotFinite:
      TP_CHECK_VALUE(false,
                     "values: expected finite values, found NaN or Inf "
                     "at values[",
                     pos, "] in row ", row, "; the weights were left unchanged");
    case CsrFault::kNone: break;
  }
  TP_CHECK_VALUE(false, "x: row ", row,
                 " gives a non-finite decision value "
                 "(an overflow of x . w + b); the weights were left unchanged");
  __builtin_unreachable();
}

void fail_csr_row(const CsrInput& x, int64_t row) {
  // Rare: find what is wrong with the row, entry by entry, on the CPU.
  dispatch_index(x, [&](auto tag) {
    using index_t = decltype(tag);
    const Tensor crow = torch::stable::to(x.crow, Device(DeviceType::CPU));
    const Tensor col = torch::stable::to(x.col, Device(DeviceType::CPU));
    const Tensor vals =
        torch::stable::to(torch::stable::to(x.values, Device(DeviceType::CPU)), ScalarType::Double);
    const int64_t lo = at<index_t>(crow, row), hi = at<index_t>(crow, row + 1);
    const index_t* c = col.const_data_ptr<index_t>();
    const double* v = vals.const_data_ptr<double>();
    for (int64_t p = lo; p < hi; ++p) {
      if (c[p] < 0 || c[p] >= x.features) { fail_csr(x, CsrFault::kColumnRange, row, p); }
      if (p > lo && c[p] <= c[p - 1]) { fail_csr(x, CsrFault::kColumnOrder, row, p); }
    }
    for (int64_t p = lo; p < hi; ++p) {
      if (!std::isfinite(v[p])) fail_csr(x, CsrFault::kValueNotFinite, row, p);
    }
  });
  fail_csr(x, CsrFault::kNone, row, 0);
}

}  // namespace torch_perceptron
