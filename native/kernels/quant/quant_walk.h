// Shared scalar bookkeeping for the vector quantization kernels: walks a flat element range of the
// [outer, channels, inner] + group geometry as runs of elements that share one (scale, zero point) pair.
//
// ISA hygiene: this header is included INSIDE an anonymous namespace by each ISA translation unit (quant_avx2.cc,
// quant_avx512.cc), so every copy has internal linkage and is compiled with that file's flags only; no symbol from
// it can be merged across TUs. It contains no intrinsics.
//
// walk_params<W>(geo, e0, e1, run, contig, mixed) calls, in element order,
//   run(e, k, p)            k > 0 a multiple of W: elements [e, e+k) all use parameter index p
//   contig(e, k, p0)        k > 0 a multiple of W: element e+j uses p0 + j (per-channel on the last axis, groups of 1)
//   blocked(e, m, p, r, unit)  0 < m ≤ W elements inside one block whose slots are consecutive runs of
//                           `unit` < 4W elements; e is at offset r < unit of the run of slot p: element e+j uses
//                           p + (r + j) / unit
//   mixed(e, m, p_lanes)    0 < m ≤ W elements [e, e+m), element e+i uses p_lanes[i]; lanes ≥ m repeat lane 0
// Every chunk starts at an even offset from e0 (W is even), which the int4 nibble packing relies on.
#pragma once

#include <cstdint>

// The round-to-integer constant of the divider-free 8-bit pipeline (quant_avx2.cc / quant_avx512.cc codes_exact):
// for |q| < 2^22, q + 1.5·2^23 rounds q to an integer (ties to even) held in the low mantissa bits, and
// bits(q + 1.5·2^23) − kMagicBits is that integer.
constexpr float kMagic = 12582912.0f;  // 1.5·2^23
constexpr int32_t kMagicBits = 0x4B400000;

// Walks the parameter index of consecutive elements without a division per element.
struct ParamCursor {
  const distiq::QuantGeometry* g;
  int64_t p = 0;      // current param index
  int64_t left = 0;   // elements left in the current run (same p)
  int64_t c = 0;      // group == 0: current channel; group > 0: group index within the row
  int64_t groups_per_row = 0, last_group_len = 0;

  ParamCursor(const distiq::QuantGeometry& geo, int64_t e) : g(&geo) {
    if (geo.group <= 0) {
      c = (e / geo.inner) % geo.channels;
      p = c;
      // One channel (per-tensor): every element uses slot 0, so the whole range is one run.
      left = geo.channels == 1 ? (INT64_MAX / 4) : geo.inner - e % geo.inner;
    } else {
      groups_per_row = (geo.channels + geo.group - 1) / geo.group;
      last_group_len = geo.channels - (groups_per_row - 1) * geo.group;
      const int64_t o = e / geo.channels, ch = e % geo.channels;
      c = ch / geo.group;
      p = o * groups_per_row + c;
      left = (c == groups_per_row - 1 ? geo.channels : (c + 1) * geo.group) - ch;
    }
  }

  // Position of the current element inside its block: the row (group > 0, blocks of `channels` elements cut into
  // groups) or the outer slice (group == 0, blocks of channels·inner elements cut into channels of `inner`).
  int64_t pos_in_block() const {
    if (g->group <= 0) return c * g->inner + (g->inner - left);
    const int64_t run_len = (c == groups_per_row - 1) ? last_group_len : g->group;
    return c * g->group + (run_len - left);
  }

  // Offset of the current element inside its run (= pos_in_block() mod unit).
  int64_t offset_in_run() const {
    if (g->group <= 0) return g->inner - left;
    return ((c == groups_per_row - 1) ? last_group_len : g->group) - left;
  }

  // Moves k ≤ left elements forward.
  void advance(int64_t k) {
    left -= k;
    if (left > 0) return;
    if (g->group <= 0) {
      c = (c + 1 == g->channels) ? 0 : c + 1;
      p = c;
      left = g->inner;
    } else {
      ++p;  // groups are numbered row after row, so the next run is always p + 1
      c = (c + 1 == groups_per_row) ? 0 : c + 1;
      left = (c == groups_per_row - 1) ? last_group_len : g->group;
    }
  }
};

template <int W, typename RunFn, typename ContigFn, typename BlockedFn, typename MixedFn>
void walk_params(const distiq::QuantGeometry& geo, int64_t e0, int64_t e1, RunFn&& run, ContigFn&& contig,
                 BlockedFn&& blocked, MixedFn&& mixed) {
  if (e0 >= e1) return;
  // inner == 1 with per-channel (p = c) or groups of 1 (p = e): consecutive elements use consecutive slots.
  const bool contiguous = geo.inner == 1 && (geo.group == 1 || (geo.group == 0 && geo.channels > 1));
  // Blocks whose slots are consecutive runs of `unit` elements (see ParamCursor::pos_in_block).
  const int64_t unit = geo.group > 0 ? geo.group : geo.inner;
  const int64_t block_len = geo.group > 0 ? geo.channels : geo.channels * geo.inner;
  // Runs shorter than 2W: whole blocks go chunk by chunk through `blocked`. Runs shorter than 4W: only the chunks
  // that straddle runs do (the rest are `run`s). Longer runs: straddling chunks take the scalar `mixed` path.
  const bool blockwise = geo.channels > 1 && unit < 2 * W;
  const bool chunkwise = geo.channels > 1 && unit < 4 * W;
  const int64_t step_q = W / unit, step_r = W % unit;  // how far W elements move the slot / the phase
  ParamCursor cur(geo, e0);
  int64_t e = e0;
  int64_t p_lanes[W];
  while (e < e1) {
    const int64_t n = e1 - e;
    if (contiguous) {
      int64_t span = geo.group == 1 ? n : (n < geo.channels - cur.c ? n : geo.channels - cur.c);
      span = span / W * W;
      if (span > 0) {
        contig(e, span, cur.p);
        e += span;
        if (e < e1) cur = ParamCursor(geo, e);
        continue;
      }
    } else if (cur.left >= W && n >= W) {
      const int64_t k = (cur.left < n ? cur.left : n) / W * W;
      run(e, k, cur.p);
      e += k;
      cur.advance(k);
      continue;
    }
    if (blockwise) {
      // Short runs: walk the rest of the block in full chunks; the phase r = pos mod unit and the first lane's
      // slot advance by constant steps, so no division per chunk.
      const int64_t pos = cur.pos_in_block();
      const int64_t span = n < block_len - pos ? n : block_len - pos;
      if (span >= W) {
        int64_t p_first = cur.p, r = cur.offset_in_run();
        int64_t off = 0;
        for (; off + W <= span; off += W) {
          blocked(e + off, W, p_first, r, unit);
          r += step_r;
          p_first += step_q;
          if (r >= unit) {
            r -= unit;
            ++p_first;
          }
        }
        e += off;
        if (e < e1) cur = ParamCursor(geo, e);
        continue;
      }
    }
    const int m = static_cast<int>(n < W ? n : W);
    if (chunkwise && cur.pos_in_block() + m <= block_len) {
      blocked(e, m, cur.p, cur.offset_in_run(), unit);
      e += m;
      for (int64_t todo = m; todo > 0;) {
        const int64_t take = cur.left < todo ? cur.left : todo;
        cur.advance(take);
        todo -= take;
      }
      continue;
    }
    int lane = 0;
    while (lane < m) {
      const int64_t take_max = m - lane;
      const int take = static_cast<int>(cur.left < take_max ? cur.left : take_max);
      for (int i = 0; i < take; ++i) p_lanes[lane + i] = cur.p;
      lane += take;
      cur.advance(take);
    }
    for (; lane < W; ++lane) p_lanes[lane] = p_lanes[0];
    mixed(e, m, static_cast<const int64_t*>(p_lanes));
    e += m;
  }
}
