// The row algorithm shared by the vector softmax kernels, written once against a small vector-ops struct `V` that
// each ISA file defines (softmax_kl_avx2.cc: 8 lanes, softmax_kl_avx512.cc: 16 lanes).
//
// ISA hygiene: this header is included INSIDE an anonymous namespace by each ISA translation unit, so every copy
// has internal linkage and is compiled with that file's flags only. It contains no intrinsics.
//
// Per row (cols ≥ 1) the algebra is the one of the reference (native/ref/softmax_kl_ref.cc):
//  pass 1 — one read of the row from memory, in blocks of kBlock floats: a block is first scanned for its lane-wise
//    max (and for NaN/+Inf), then re-read from L1 to accumulate, per lane and per block (then added to the row's
//    sums, which bounds the rounding error of long sums), Z = Σ exp(x·(1/T) − m_lane) (student at T,
//    teacher at T, and the student at T = 1 when the cross-entropy needs it) and W = Σ e_b·(b − a) (the teacher's
//    cross term, skipped where the teacher probability is 0). When a block raises a lane max the lane's sums are
//    rescaled by exp(m_old − m_new) once per block, so the cost is one exp per element per stream.
//    max(fl(s_i/T)) = fl(max(s_i)·(1/T)) because rounding is monotone, so only raw maxima are tracked.
//  lanes are merged with exp(m_lane − m) weights, then one vector log gives log Z for every stream at once;
//  pass 2 — one read of the row (and the dense teacher), one write of the gradient.
// Lanes whose max is still −Inf (masked classes, or the −Inf fill of a tail) accumulate against 0 instead of −Inf,
// so exp(−Inf − (−Inf)) = NaN never happens. Tails use masked loads filled with −Inf (a masked class: probability
// 0) and masked stores: nothing outside the row is read or written.
// The including file provides <cmath>, <cstdint>, <limits>, distiq/softmax_kl.h and distiq/scratch.h (outside the
// namespace).
#pragma once

constexpr int64_t kBlock = 512;  // floats per block: 2 KiB per stream, so a block's re-read hits L1
// kParkQ rows: up to 128 Ki classes (2 × 16 KiB of block maxima on the stack at 16 lanes).
constexpr int64_t kMaxParkedBlocks = 256;
constexpr int64_t kPrefetchRow = 2 * kBlock;  // floats ahead of the pass-1 sums (4 KiB per stream)
constexpr int64_t kPrefetchAhead = 512;  // floats ahead of the gradient store (2 KiB)
// Gradients of at least this many floats (16 MiB, far more than L2) are written with non-temporal stores.
constexpr int64_t kStreamMinElements = int64_t{1} << 22;
constexpr float kInfF = std::numeric_limits<float>::infinity();
constexpr float kNaNF = std::numeric_limits<float>::quiet_NaN();

// Everything a row needs that does not change between rows.
struct RowParams {
  int64_t cols, topk;
  float inv_t, temperature, alpha, grad_scale;
  bool dense, sparse, labels;
  bool use_kl, use_ce;
  bool stream;  // write the gradient with non-temporal stores (large outputs: saves the write-allocate reads)
  float* park = nullptr;  // kParkQ: per-thread scratch, student exps at [0, park_stride), teacher exps after
  int64_t park_stride = 0;  // cols rounded up to a whole vector
  int sq_steps;  // T = 2^sq_steps ∈ {2, 4, 8}: the T = 1 student exps are squares of the T ones (kCe1 == 2)
};

// e^(2^k) by k squarings, each flushing inputs below 2^−63 to 0 first (the square would be subnormal: a microcode
// assist per lane, and the exps flush such results to 0 anyway).
template <class V>
inline typename V::F pow2k(typename V::F e, int k) {
  for (int i = 0; i < k; ++i) e = V::square_flush(e);
  return e;
}

// This thread's scratch of at least n floats for the parked exps (kept between calls: at most 2 × 128 Ki floats,
// 1 MiB, per thread), 64-byte aligned (a large malloc block starts 16 bytes past a page: every vector access to it
// would split a cache line), or null when it cannot be allocated. distiq/scratch.h is compiled at the baseline, so
// no std:: container code is instantiated here under this file's ISA flags (a weak symbol the linker could pick
// for every caller).
inline float* park_scratch(int64_t n) {
  return reinterpret_cast<float*>(thread_scratch(ScratchSlot::kSoftmaxKlPark, static_cast<size_t>(n) * sizeof(float)));
}

template <class V>
inline void fill_nan(float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = kNaNF;
}

// Loads lanes [i, i + V::kLanes) of a row of n floats, −Inf beyond its end.
template <class V>
inline typename V::F load_row(const float* p, int64_t i, int64_t n) {
  return i + V::kLanes <= n ? V::load(p + i) : V::load_part(p + i, static_cast<int>(n - i));
}

template <class V>
inline void store_row(float* p, int64_t i, int64_t n, typename V::F v) {
  if (i + V::kLanes <= n) {
    V::store(p + i, v);
  } else {
    V::store_part(p + i, v, static_cast<int>(n - i));
  }
}

// Σ_lane sum_lane · exp((max_lane − max)·scale) with max the lane maximum of max_raw; returns max.
template <class V>
inline float merge_lanes(typename V::F max_raw, typename V::F sum, float scale, float* total) {
  const float m = V::hmax(max_raw);
  const typename V::F w = V::exp(V::sub(V::mul(max_raw, V::set1(scale)), V::set1(m * scale)));
  *total = V::hsum(V::mul(sum, w));
  return m;
}

// log Z of every stream with one vector log (lane 0: student at T, 1: teacher, 2: student at T = 1; the lanes are
// built in registers — scalar stores read back as one vector would stall store forwarding), then the row loss in
// double (as the reference does: T² may overflow float for huge T, and the weighted sum of the two terms then
// rounds once). lz receives the logs.
template <class V>
inline float row_loss(const RowParams& rp, float sum_a, float sum_b, float sum_1, float cross, float ma, float mb,
                      float m_s, float s_y, float* lz) {
  V::store(lz, V::log(V::lanes3(sum_a, sum_b, sum_1)));
  double loss = 0.0;
  if (rp.use_kl) {
    const double kl = static_cast<double>(cross) / sum_b + (static_cast<double>(ma) - mb) +
                      (static_cast<double>(lz[0]) - lz[1]);
    loss += static_cast<double>(rp.alpha) * rp.temperature * rp.temperature * kl;
  }
  if (rp.use_ce) {
    const double ce = (static_cast<double>(m_s) - s_y) + lz[2];
    loss += (1.0 - rp.alpha) * ce;
  }
  return static_cast<float>(loss);
}

// Rows of at most V::kLanes classes (10-class problems and the like), dense teacher or none: one vector per input,
// everything in registers, one pass — no blocks, no lane merge, no second read; three exps per element at most
// (the general row below spends about a dozen vector exps per row on block and lane bookkeeping, which dominates
// when a row is a single vector). Same algebra and the same masked-class rules as softmax_kl_row.
template <class V, bool kDense, bool kCe1>
bool softmax_kl_short_row(const RowParams& rp, const float* s, const float* t, int32_t y, float* loss, float* g) {
  using F = typename V::F;
  const int64_t cols = rp.cols;
  if (rp.labels && (y < 0 || y >= cols)) return false;
  const F inv_t = V::set1(rp.inv_t), zero = V::zero();
  const F x = load_row<V>(s, 0, cols);
  typename V::B bad = V::is_bad(x);
  const float m_s = V::hmax(x), ma = m_s * rp.inv_t;
  const F a = V::mul(x, inv_t);
  F eb = zero, u = zero;
  float m_t = 0.0f, mb = 0.0f;
  if (kDense) {
    u = load_row<V>(t, 0, cols);
    bad = V::or_bad(bad, V::is_bad(u));
    m_t = V::hmax(u);
    mb = m_t * rp.inv_t;
  }
  if (V::any_bad(bad) || m_s == -kInfF || ma == kInfF) return false;  // NaN/+Inf, all −Inf, or s/T overflows
  if (kDense && (m_t == -kInfF || mb == kInfF)) return false;
  const F ea = V::exp(V::sub(a, V::set1(ma)));
  const F e1 = kCe1 ? V::exp(V::sub(x, V::set1(m_s))) : ea;
  const float sum_a = V::hsum(ea), sum_1 = kCe1 ? V::hsum(e1) : sum_a;
  float sum_b = 1.0f, cross = 0.0f;
  if (kDense) {
    const F b = V::mul(u, inv_t);
    eb = V::exp(V::sub(b, V::set1(mb)));
    sum_b = V::hsum(eb);
    cross = V::hsum(V::fmadd_where_pos(eb, V::sub(b, a), zero));
  }
  float lz[V::kLanes];
  *loss = row_loss<V>(rp, sum_a, sum_b, sum_1, cross, ma, mb, m_s, rp.use_ce ? s[y] : 0.0f, lz);
  if (g == nullptr) return true;
  const float c_kl = rp.use_kl ? rp.grad_scale * rp.alpha * rp.temperature : 0.0f;
  const float c_ce = rp.use_ce ? rp.grad_scale * (1.0f - rp.alpha) : 0.0f;
  const F p = V::mul(ea, V::set1(1.0f / sum_a));
  F gi = kDense ? V::mul(V::set1(c_kl), V::sub(p, V::mul(eb, V::set1(1.0f / sum_b)))) : V::mul(V::set1(c_kl), p);
  if (rp.use_ce) {
    const F p1 = kCe1 ? V::mul(e1, V::set1(1.0f / sum_1)) : p;
    gi = V::add(gi, V::mul(V::set1(c_ce), V::sub_one_at(p1, y)));  // − onehot(y)
  }
  store_row<V>(g, 0, cols, gi);
  return true;
}

// The fused distillation loss of one row. kDense: a dense teacher row; kCe1: the cross-entropy needs the student
// at T = 1 as a separate stream (labels, α < 1 and T ≠ 1): 1 = its own exps, 2 = T is 2, 4 or 8, so
// exp(x − m) = exp(a − m/T)^T exactly in real arithmetic (a = x·2^−k and the shifts are exact power-of-two
// scalings) and the T = 1 terms are the T ones squared k times: two exps per element fewer, at most 2^k times the
// exp's relative error (within the tolerance); kParkQ (dense teacher, KL used, gradient wanted and
// not streamed, at most kMaxParkedBlocks blocks): pass 1 parks the teacher's exp(b − m_b,lane) in the gradient row
// and keeps each block's lane maxima, so pass 2 gets q with one multiply instead of re-reading the teacher and one
// more exp per element, and computes p the same way from the student's block maxima (so p − q is still exactly 0
// when student and teacher are equal). Returns false for a bad row (NaN/+Inf logit, all −Inf, out-of-range label
// or index), which the caller fills with NaN.
template <class V, bool kDense, int kCe1, bool kParkQ>
bool softmax_kl_row(const RowParams& rp, const float* s, const float* t, const int32_t* idx, const float* tl,
                    int32_t y, float* loss, float* g) {
  using F = typename V::F;
  using B = typename V::B;
  const int64_t cols = rp.cols;
  const F inv_t = V::set1(rp.inv_t);
  const F zero = V::zero();

  if (rp.labels && (y < 0 || y >= cols)) return false;

  // ---- pass 1: lane maxima and sums, one read of the row.
  F ms = V::set1(-kInfF), za = zero, z1 = zero;  // student: raw max, Σ at T, Σ at T = 1
  F mt = V::set1(-kInfF), zb = zero, w = zero;   // dense teacher: raw max, Σ at T, cross term
  // kParkQ: each block's raw lane maxima scaled by 1/T (−Inf lanes give weight 0 in pass 2).
  F block_ma[kParkQ ? kMaxParkedBlocks : 1], block_mb[kParkQ ? kMaxParkedBlocks : 1];
  B bad = V::no_bad();
  for (int64_t b0 = 0; b0 < cols; b0 += kBlock) {
    const int64_t b1 = b0 + kBlock < cols ? b0 + kBlock : cols;
    F bms = ms, bmt = mt;
    for (int64_t i = b0; i < b1; i += V::kLanes) {
      const F x = load_row<V>(s, i, cols);
      bad = V::or_bad(bad, V::is_bad(x));
      bms = V::max(bms, x);
      if (kDense) {
        const F u = load_row<V>(t, i, cols);
        bad = V::or_bad(bad, V::is_bad(u));
        bmt = V::max(bmt, u);
      }
    }
    // Rescale the sums to the new lane maxima (exactly 1 where a lane max did not change).
    const F ms_old = V::safe_max(ms), ms_new = V::safe_max(bms);
    const F ma_old = V::mul(ms_old, inv_t), ma_new = V::mul(ms_new, inv_t);
    if (b0 > 0) {
      za = V::mul(za, V::exp(V::sub(ma_old, ma_new)));
      if (kCe1) z1 = V::mul(z1, V::exp(V::sub(ms_old, ms_new)));
    }
    ms = bms;
    if (kParkQ) block_ma[b0 / kBlock] = V::mul(bms, inv_t);
    F mb_new = zero;
    if (kDense) {
      mb_new = V::mul(V::safe_max(bmt), inv_t);
      if (b0 > 0) {
        const F f = V::exp(V::sub(V::mul(V::safe_max(mt), inv_t), mb_new));
        zb = V::mul(zb, f);
        w = V::mul(w, f);
      }
      mt = bmt;
      if (kParkQ) block_mb[b0 / kBlock] = V::mul(bmt, inv_t);
    }
    // Re-read the block (from L1) to accumulate, prefetching two blocks ahead so that the first scan of a block
    // (memory bound) overlaps the sums of an earlier one (compute bound). Block sums start from 0 and are added to
    // the row sums afterwards, so no term is ever added to a sum of more than kBlock/kLanes + blocks terms (a
    // peaked row would otherwise lose its long tail of tiny terms into the big one: up to cols/kLanes · eps/2).
    F bza = zero, bz1 = zero, bzb = zero, bw = zero;
    for (int64_t i = b0; i < b1; i += V::kLanes) {
      if (i + kPrefetchRow < cols) {
        V::prefetch(s + i + kPrefetchRow);
        if (kDense) V::prefetch(t + i + kPrefetchRow);
      }
      const F x = load_row<V>(s, i, cols);
      const F a = V::mul(x, inv_t);
      const F ea = V::exp(V::sub(a, ma_new));
      bza = V::add(bza, ea);
      if (kCe1 == 1) bz1 = V::add(bz1, V::exp(V::sub(x, ms_new)));
      if (kCe1 == 2) bz1 = V::add(bz1, pow2k<V>(ea, rp.sq_steps));
      if (kDense) {
        const F bt = V::mul(load_row<V>(t, i, cols), inv_t);
        const F eb = V::exp(V::sub(bt, mb_new));
        bzb = V::add(bzb, eb);
        bw = V::fmadd_where_pos(eb, V::sub(bt, a), bw);
        if (kParkQ) {
          V::store(rp.park + i, ea);  // the scratch rows are whole vectors long
          V::store(rp.park + rp.park_stride + i, eb);
        }
      }
    }
    za = V::add(za, bza);
    if (kCe1) z1 = V::add(z1, bz1);
    if (kDense) {
      zb = V::add(zb, bzb);
      w = V::add(w, bw);
    }
  }
  if (V::any_bad(bad)) return false;

  float sum_a = 0.0f, sum_1 = 0.0f, sum_b = 0.0f, cross = 0.0f;
  const float m_s = merge_lanes<V>(ms, za, rp.inv_t, &sum_a);
  const float ma = m_s * rp.inv_t;
  if (m_s == -kInfF || ma == kInfF) return false;  // all −Inf, or s/T overflows
  if (kCe1) {
    merge_lanes<V>(ms, z1, 1.0f, &sum_1);
  } else {
    sum_1 = sum_a;  // T = 1 (or the T = 1 stream is not needed)
  }

  // ---- the teacher's max, Σ and cross term.
  float mb = 0.0f;
  if (kDense) {
    const float m_t = merge_lanes<V>(mt, zb, rp.inv_t, &sum_b);
    mb = m_t * rp.inv_t;
    if (m_t == -kInfF || mb == kInfF) return false;
    const F wt = V::exp(V::sub(V::mul(mt, inv_t), V::set1(mb)));
    cross = V::hsum(V::mul(w, wt));
  } else if (rp.sparse) {
    const int64_t k = rp.topk;
    F mk = V::set1(-kInfF);
    for (int64_t j = 0; j < k; j += V::kLanes) {
      const F u = load_row<V>(tl, j, k);
      bad = V::or_bad(bad, V::is_bad(u));
      mk = V::max(mk, u);
    }
    const float m_t = V::hmax(mk);
    mb = m_t * rp.inv_t;
    if (V::any_bad(bad) || m_t == -kInfF || mb == kInfF) return false;
    F zk = zero, wk = zero;
    const F mbv = V::set1(mb);
    for (int64_t j = 0; j < k; j += V::kLanes) {
      const int n = k - j < V::kLanes ? static_cast<int>(k - j) : V::kLanes;
      const F bt = V::mul(load_row<V>(tl, j, k), inv_t);
      const F eb = V::exp(V::sub(bt, mbv));
      bool idx_bad = false;
      const F a = V::mul(V::gather_part(s, idx + j, n, cols, &idx_bad), inv_t);
      if (idx_bad) return false;
      zk = V::add(zk, eb);
      wk = V::fmadd_where_pos(eb, V::sub(bt, a), wk);
    }
    sum_b = V::hsum(zk);
    cross = V::hsum(wk);
  }

  const bool teacher = kDense || rp.sparse;
  float lz[V::kLanes];
  *loss = row_loss<V>(rp, sum_a, teacher ? sum_b : 1.0f, sum_1, cross, ma, mb, m_s, rp.use_ce ? s[y] : 0.0f, lz);
  if (g == nullptr) return true;

  // ---- pass 2: the gradient, one read of the row (and dense teacher), one write.
  const float c_kl = rp.use_kl ? rp.grad_scale * rp.alpha * rp.temperature : 0.0f;
  const float c_ce = rp.use_ce ? rp.grad_scale * (1.0f - rp.alpha) : 0.0f;
  const F ckl = V::set1(c_kl), cce = V::set1(c_ce);
  const F mav = V::set1(ma), mbv = V::set1(mb), msv = V::set1(m_s);
  const F rza = V::set1(1.0f / sum_a), rzb = V::set1(teacher ? 1.0f / sum_b : 0.0f), rz1 = V::set1(1.0f / sum_1);
  const bool ce = rp.use_ce;
  // Lanes [i, i + kLanes) of the gradient (lanes past the row end hold garbage and are never stored). p is
  // exp(a − ma_at)·wp_at, with the row's values (kParkQ rows use grad_parked below).
  auto grad_at = [&](int64_t i, F ma_at, F wp_at, F w1_at) {
    const F x = load_row<V>(s, i, cols);
    const F e = V::exp(V::sub(V::mul(x, inv_t), ma_at));
    const F p = V::mul(e, wp_at);
    F gi;
    if (kDense) {
      const F q = V::mul(V::exp(V::sub(V::mul(load_row<V>(t, i, cols), inv_t), mbv)), rzb);
      gi = V::mul(ckl, V::sub(p, q));
    } else {
      gi = V::mul(ckl, p);
    }
    if (ce) {
      F p1 = kCe1 == 1 ? V::mul(V::exp(V::sub(x, msv)), rz1) : kCe1 == 2 ? V::mul(pow2k<V>(e, rp.sq_steps), w1_at) : p;
      if (static_cast<uint64_t>(y - i) < static_cast<uint64_t>(V::kLanes)) {
        p1 = V::sub_one_at(p1, static_cast<int>(y - i));  // − onehot(y)
      }
      gi = V::add(gi, V::mul(cce, p1));
    }
    return gi;
  };
  // kParkQ: the same gradient from the exps pass 1 parked (bit-identical to recomputing them: same arguments), so
  // this pass needs no exp per element (one more with kCe1 == 1) and does not re-read the teacher. p and q use the
  // block weights wp_at, wq_at; kCe1 == 2: p₁ = e^T·w1_at.
  auto grad_parked = [&](int64_t i, F wp_at, F wq_at, F w1_at) {
    const F e = V::load(rp.park + i);
    const F p = V::mul(e, wp_at);
    F gi = V::mul(ckl, V::sub(p, V::mul(V::load(rp.park + rp.park_stride + i), wq_at)));
    if (ce) {
      F p1 = kCe1 == 1   ? V::mul(V::exp(V::sub(load_row<V>(s, i, cols), msv)), rz1)
             : kCe1 == 2 ? V::mul(pow2k<V>(e, rp.sq_steps), w1_at)
                         : p;
      if (static_cast<uint64_t>(y - i) < static_cast<uint64_t>(V::kLanes)) {
        p1 = V::sub_one_at(p1, static_cast<int>(y - i));  // − onehot(y)
      }
      gi = V::add(gi, V::mul(cce, p1));
    }
    return gi;
  };
  // Non-temporal stores need aligned addresses: a masked head up to the first aligned element, aligned full
  // vectors, a masked tail (the lane ↔ element mapping shifts with the head, which changes no value).
  const uintptr_t g_addr = reinterpret_cast<uintptr_t>(g);
  const int64_t misalign = static_cast<int64_t>(g_addr % V::kAlignBytes) / 4;
  const int64_t head = misalign == 0 ? 0 : std::min<int64_t>(cols, V::kLanes - misalign);
  const bool nt = rp.stream && g_addr % 4 == 0;
  if (kParkQ) {
    // Streamed rows: each block's gradient is computed in the parked lane positions into an L1 staging buffer and
    // copied out from there with aligned non-temporal stores; `carry` elements (< kLanes) wait for the next block.
    alignas(64) float stage[kParkQ ? kBlock + 2 * V::kLanes : 1];
    int64_t out = 0, carry = 0;
    for (int64_t b0 = 0; b0 < cols; b0 += kBlock) {
      const int64_t b1 = b0 + kBlock < cols ? b0 + kBlock : cols;
      const F bma = block_ma[b0 / kBlock], bmb = block_mb[b0 / kBlock];
      const F wp = V::mul(V::exp(V::sub(bma, mav)), rza), wq = V::mul(V::exp(V::sub(bmb, mbv)), rzb);
      // exp(x − m_s) = exp(a − ma_blk)^T · exp(T·ma_blk − m_s) with ma_blk the shift pass 1 used for this block,
      // and T·ma_blk is the block's raw lane max exactly (bma, not its −Inf-safe form: a lane without classes in
      // the block gets weight exp(−Inf) = 0, never exp(positive)).
      const F w1 = kCe1 == 2 ? V::mul(V::exp(V::sub(V::mul(bma, V::set1(rp.temperature)), msv)), rz1) : rz1;
      if (!nt) {
        for (int64_t i = b0; i < b1; i += V::kLanes) store_row<V>(g, i, cols, grad_parked(i, wp, wq, w1));
        continue;
      }
      for (int64_t i = b0; i < b1; i += V::kLanes) V::store(stage + carry + (i - b0), grad_parked(i, wp, wq, w1));
      const int64_t avail = carry + (b1 - b0);
      int64_t k = 0;
      if (out == 0 && head > 0) {
        k = std::min<int64_t>(head, avail);
        V::store_part(g, V::load(stage), static_cast<int>(k));
      }
      for (; k + V::kLanes <= avail; k += V::kLanes) V::stream(g + out + k, V::load(stage + k));
      out += k;
      carry = avail - k;
      for (int64_t j = 0; j < carry; ++j) stage[j] = stage[k + j];
    }
    if (nt) {
      if (carry > 0) V::store_part(g + out, V::load(stage), static_cast<int>(carry));
      V::fence();
    }
  } else if (nt) {
    if (head > 0) V::store_part(g, grad_at(0, mav, rza, rz1), static_cast<int>(head));
    int64_t i = head;
    for (; i + V::kLanes <= cols; i += V::kLanes) V::stream(g + i, grad_at(i, mav, rza, rz1));
    if (i < cols) V::store_part(g + i, grad_at(i, mav, rza, rz1), static_cast<int>(cols - i));
    V::fence();
  } else {
    for (int64_t i = 0; i < cols; i += V::kLanes) {
      if (i + kPrefetchAhead < cols) V::prefetch(g + i + kPrefetchAhead);  // hides the write-allocate misses
      store_row<V>(g, i, cols, grad_at(i, mav, rza, rz1));
    }
  }
  if (rp.sparse && rp.use_kl) {
    // g[idx_j] −= c_kl·q_j (indices were range-checked in pass 1).
    const int64_t k = rp.topk;
    const F mbk = V::set1(mb);
    float qj[V::kLanes];
    for (int64_t j = 0; j < k; j += V::kLanes) {
      const int n = k - j < V::kLanes ? static_cast<int>(k - j) : V::kLanes;
      const F q = V::mul(V::mul(V::exp(V::sub(V::mul(load_row<V>(tl, j, k), inv_t), mbk)), rzb), ckl);
      V::store(qj, q);
      for (int l = 0; l < n; ++l) g[idx[j + l]] -= qj[l];
    }
  }
  return true;
}

// softmax_kl_short_row with softmax_kl_row's signature (the sparse-teacher arguments are unused).
template <class V, bool kDense, bool kCe1>
bool short_row(const RowParams& rp, const float* s, const float* t, const int32_t*, const float*, int32_t y,
               float* loss, float* g) {
  return softmax_kl_short_row<V, kDense, kCe1>(rp, s, t, y, loss, g);
}

template <class V>
int64_t softmax_kl_rows(const distiq::SoftmaxKlArgs& a, int64_t r0, int64_t r1) {
  RowParams rp;
  rp.cols = a.cols;
  rp.topk = a.topk;
  rp.inv_t = 1.0f / a.temperature;
  rp.temperature = a.temperature;
  rp.alpha = a.alpha;
  rp.grad_scale = a.grad_scale;
  rp.dense = a.teacher != nullptr;
  rp.sparse = a.topk_index != nullptr;
  rp.labels = a.labels != nullptr;
  rp.use_kl = (rp.dense || rp.sparse) && a.alpha > 0.0f;
  rp.use_ce = rp.labels && a.alpha < 1.0f;
  rp.stream = a.grad != nullptr && a.rows * a.cols >= kStreamMinElements;
  const bool ce1 = rp.use_ce && rp.inv_t != 1.0f;
  rp.sq_steps = a.temperature == 2.0f ? 1 : a.temperature == 4.0f ? 2 : a.temperature == 8.0f ? 3 : 0;
  const int ce_mode = !ce1 ? 0 : rp.sq_steps > 0 ? 2 : 1;
  bool park_q = rp.dense && rp.use_kl && a.grad != nullptr && a.cols <= kMaxParkedBlocks * kBlock;
  if (park_q) {
    rp.park_stride = (a.cols + V::kLanes - 1) / V::kLanes * V::kLanes;
    rp.park = park_scratch(2 * rp.park_stride);
    park_q = rp.park != nullptr;  // out of memory: the path without parking
  }
  using RowFn = bool (*)(const RowParams&, const float*, const float*, const int32_t*, const float*, int32_t, float*,
                         float*);
  const RowFn dense_park[3] = {softmax_kl_row<V, true, 0, true>, softmax_kl_row<V, true, 1, true>,
                               softmax_kl_row<V, true, 2, true>};
  const RowFn dense_plain[3] = {softmax_kl_row<V, true, 0, false>, softmax_kl_row<V, true, 1, false>,
                                softmax_kl_row<V, true, 2, false>};
  const RowFn no_dense[3] = {softmax_kl_row<V, false, 0, false>, softmax_kl_row<V, false, 1, false>,
                             softmax_kl_row<V, false, 2, false>};
  RowFn row = rp.dense ? (park_q ? dense_park[ce_mode] : dense_plain[ce_mode]) : no_dense[ce_mode];
  if (!rp.sparse && a.cols <= V::kLanes) {
    row = rp.dense ? (ce1 ? short_row<V, true, true> : short_row<V, true, false>)
                   : (ce1 ? short_row<V, false, true> : short_row<V, false, false>);
  }
  int64_t bad = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const float* s = a.student + r * a.cols;
    const float* t = rp.dense ? a.teacher + r * a.cols : nullptr;
    const int32_t* idx = rp.sparse ? a.topk_index + r * a.topk : nullptr;
    const float* tl = rp.sparse ? a.topk_logits + r * a.topk : nullptr;
    const int32_t y = rp.labels ? a.labels[r] : -1;
    float* g = a.grad != nullptr ? a.grad + r * a.cols : nullptr;
    if (!row(rp, s, t, idx, tl, y, a.loss + r, g)) {
      a.loss[r] = kNaNF;
      if (g != nullptr) fill_nan<V>(g, a.cols);
      ++bad;
    }
  }
  return bad;
}

// softmax / log-softmax of rows of x (out may be x itself: each element is read before it is written).
template <class V>
int64_t softmax_rows(const float* x, int64_t cols, float* out, bool log, int64_t r0, int64_t r1) {
  using F = typename V::F;
  int64_t bad_rows = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;
    F m = V::set1(-kInfF), z = V::zero();
    typename V::B bad = V::no_bad();
    for (int64_t b0 = 0; b0 < cols; b0 += kBlock) {
      const int64_t b1 = b0 + kBlock < cols ? b0 + kBlock : cols;
      F bm = m;
      for (int64_t i = b0; i < b1; i += V::kLanes) {
        const F v = load_row<V>(xr, i, cols);
        bad = V::or_bad(bad, V::is_bad(v));
        bm = V::max(bm, v);
      }
      const F m_new = V::safe_max(bm);
      if (b0 > 0) z = V::mul(z, V::exp(V::sub(V::safe_max(m), m_new)));
      m = bm;
      F bz = V::zero();  // block sum from 0 (see softmax_kl_row)
      for (int64_t i = b0; i < b1; i += V::kLanes) bz = V::add(bz, V::exp(V::sub(load_row<V>(xr, i, cols), m_new)));
      z = V::add(z, bz);
    }
    float sum = 0.0f;
    const float mx = merge_lanes<V>(m, z, 1.0f, &sum);
    if (V::any_bad(bad) || mx == -kInfF) {
      fill_nan<V>(o, cols);
      ++bad_rows;
      continue;
    }
    const F mv = V::set1(mx);
    if (log) {
      const F lz = V::log(V::set1(sum));
      for (int64_t i = 0; i < cols; i += V::kLanes) {
        store_row<V>(o, i, cols, V::sub(V::sub(load_row<V>(xr, i, cols), mv), lz));
      }
    } else {
      const F rz = V::set1(1.0f / sum);
      for (int64_t i = 0; i < cols; i += V::kLanes) {
        store_row<V>(o, i, cols, V::mul(V::exp(V::sub(load_row<V>(xr, i, cols), mv)), rz));
      }
    }
  }
  return bad_rows;
}
