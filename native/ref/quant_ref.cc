// quant_ref — the scalar specification of the quantization family (see distiq/quant.h). Every ISA path must give
// the same bits as this file, so it is written for clarity, one element at a time:
//
//   v = nearbyintf(x / s) + (float)z           true division, round half to even, then the zero point (in float)
//   q = (int)clamp(v, qmin, qmax)              clamp in float; NaN (x NaN) → qmin and counted; ±Inf saturates
//   dequantize:  x̂ = (float)(q − z) * s
//   fake-quant:  y = (clamp(v) − (float)z) * s (== dequantize(quantize(x))), mask = (qmin ≤ v ≤ qmax)
//   min/max:     per parameter slot; non-finite inputs are counted (and not folded)
//
// Ranges: every kernel processes the flat element range [e0, e1). For int4 the caller cuts only at multiples of
// row_len, so each range covers whole rows and whole bytes; pad nibbles are written as 0.
#include <cmath>
#include <cstdint>

#include "distiq/quant.h"

namespace distiq {
namespace {

// Which (scale, zero point) pair element e uses, from the [outer, channels, inner] + group geometry.
int64_t param_index(const QuantGeometry& g, int64_t e) {
  const int64_t ci = e / g.inner;  // o·channels + c
  const int64_t c = ci % g.channels;
  if (g.group <= 0) return c;
  const int64_t o = ci / g.channels;
  const int64_t groups_per_row = (g.channels + g.group - 1) / g.group;
  return o * groups_per_row + c / g.group;
}

// v = nearbyintf(x / s) + z, clamped to [qmin, qmax] in float. NaN → qmin (reported by the caller).
float quantize_value(float x, float s, float zf, float qmin_f, float qmax_f, bool* in_range, bool* is_nan) {
  const float v = std::nearbyintf(x / s) + zf;
  *is_nan = std::isnan(v);
  *in_range = (v >= qmin_f) && (v <= qmax_f);
  if (*is_nan) return qmin_f;
  if (v < qmin_f) return qmin_f;
  if (v > qmax_f) return qmax_f;
  return v;
}

int64_t quantize_ref(const QuantArgs& a, int64_t e0, int64_t e1) {
  const float qmin_f = static_cast<float>(a.qmin), qmax_f = static_cast<float>(a.qmax);
  int64_t nans = 0;
  const int64_t row_bytes = (a.row_len + 1) / 2;
  for (int64_t e = e0; e < e1; ++e) {
    const int64_t p = param_index(a.geo, e);
    const float zf = a.zero_points ? static_cast<float>(a.zero_points[p]) : 0.0f;
    bool in_range, is_nan;
    const float v = quantize_value(a.x[e], a.scales[p], zf, qmin_f, qmax_f, &in_range, &is_nan);
    nans += is_nan ? 1 : 0;
    const int32_t q = static_cast<int32_t>(v);
    switch (a.type) {
      case QType::kS8: static_cast<int8_t*>(a.q)[e] = static_cast<int8_t>(q); break;
      case QType::kU8: static_cast<uint8_t*>(a.q)[e] = static_cast<uint8_t>(q); break;
      case QType::kS4:
      case QType::kU4: {
        const int64_t row = e / a.row_len, i = e % a.row_len;
        uint8_t* byte = static_cast<uint8_t*>(a.q) + row * row_bytes + i / 2;
        const uint8_t nibble = static_cast<uint8_t>(q) & 0x0F;
        // The low nibble starts a fresh byte (high nibble 0 = the pad when the row ends here).
        if ((i & 1) == 0) *byte = nibble;
        else *byte = static_cast<uint8_t>(*byte | (nibble << 4));
        break;
      }
    }
  }
  return nans;
}

int32_t load_q(const QuantArgs& a, int64_t e) {
  switch (a.type) {
    case QType::kS8: return static_cast<const int8_t*>(a.q)[e];
    case QType::kU8: return static_cast<const uint8_t*>(a.q)[e];
    case QType::kS4:
    case QType::kU4: {
      const int64_t row = e / a.row_len, i = e % a.row_len;
      const uint8_t byte = static_cast<const uint8_t*>(a.q)[row * ((a.row_len + 1) / 2) + i / 2];
      const int32_t nibble = (i & 1) ? (byte >> 4) : (byte & 0x0F);
      return (a.type == QType::kS4 && nibble >= 8) ? nibble - 16 : nibble;  // sign-extend int4
    }
  }
  return 0;
}

void dequantize_ref(const QuantArgs& a, int64_t e0, int64_t e1) {
  for (int64_t e = e0; e < e1; ++e) {
    const int64_t p = param_index(a.geo, e);
    const int32_t z = a.zero_points ? a.zero_points[p] : 0;
    const_cast<float*>(a.x)[e] = static_cast<float>(load_q(a, e) - z) * a.scales[p];
  }
}

int64_t fake_quant_ref(const QuantArgs& a, int64_t e0, int64_t e1) {
  const float qmin_f = static_cast<float>(a.qmin), qmax_f = static_cast<float>(a.qmax);
  int64_t nans = 0;
  for (int64_t e = e0; e < e1; ++e) {
    const int64_t p = param_index(a.geo, e);
    const float zf = a.zero_points ? static_cast<float>(a.zero_points[p]) : 0.0f;
    bool in_range, is_nan;
    const float v = quantize_value(a.x[e], a.scales[p], zf, qmin_f, qmax_f, &in_range, &is_nan);
    nans += is_nan ? 1 : 0;
    a.y[e] = (v - zf) * a.scales[p];
    if (a.mask) a.mask[e] = in_range ? 1 : 0;
  }
  return nans;
}

int64_t minmax_ref(const float* x, const QuantGeometry& geo, int64_t e0, int64_t e1, float* mins, float* maxs) {
  int64_t non_finite = 0;
  for (int64_t e = e0; e < e1; ++e) {
    const float v = x[e];
    if (!std::isfinite(v)) {
      ++non_finite;
      continue;
    }
    const int64_t p = param_index(geo, e);
    if (v < mins[p]) mins[p] = v;
    if (v > maxs[p]) maxs[p] = v;
  }
  return non_finite;
}

}  // namespace

const QuantKernel& quant_ref() noexcept {
  static const QuantKernel k{Isa::kRef,          "quantize_f32q_ref", "dequantize_qf32_ref", "minmax_f32_ref",
                             "fake_quant_f32_ref", quantize_ref,      dequantize_ref,        fake_quant_ref,
                             minmax_ref};
  return k;
}

}  // namespace distiq
