// gemm_s8_x86_blocking.h: the cache-blocking loop nest of the x86 int8 GEMM kernels (avx2, avxvnni, avx512,
// avx512vnni), around each ISA file's own micro-kernels. One copy of the blocking logic, so every level gets the
// same treatment:
//   column blocks  ≈ kWBlockBytes of packed W (stays in L2 while every row chunk passes over it), balanced and cut
//                  at multiples of the micro-tile width; the NEXT column block is prefetched into L2 (prefetcht1)
//                  in equal shares by this block's micro-tiles, so L3/memory traffic runs at an even rate instead
//                  of stalling the first row block of each column block (not for GEMV tiles, see tile());
//   row chunks     ≤ kRowChunk rows (fewer for long K, a_chunk_rows); their A row sums are computed once and their
//                  A is staged once if the ISA wants it (s8 flipped to u8 for VNNI, widened to int16 without VNNI);
//   row blocks     of equal height (16 rows: 8 + 8, not 14 + 2), ≤ kMr rows (≤ kGemvRows rows × kNpGemv panels
//                  when the whole tile has ≤ kGemvRows rows: GEMV); the row block is the outer loop, so its A stays
//                  in L1 while the column block's weights stream past it, one micro-tile (np panels) at a time.
// Every micro-tile computes all of K for its elements, then the epilogue: the blocking never changes any
// element's arithmetic, so any split gives the same bits.
//
// ISA hygiene: included INSIDE the anonymous namespace of each ISA file (after kNr, kMr, kNp, kNpGemv, kGemvRows,
// kRowChunk, kChunkBytes, kWBlockBytes, kWidenA, panel_stride, Columns, load_columns and row_sum), so every copy is private to its
// translation unit and compiled with that file's flags. The ISA file defines the hooks declared below. No include
// guard on purpose.

// Weights of a later micro-tile to pull into L2 during a K loop: [pf, pf_end), `step` bytes (≤ 256) per group.
struct Prefetch {
  const uint8_t* pf;
  const uint8_t* pf_end;
  int64_t step;
};

struct MicroArgs {
  const uint8_t* a;         // row 0 of the micro-tile, column 0, as staged (AView)
  int64_t lda;              // row stride in bytes
  const uint8_t* panels;    // the first panel of the micro-tile
  size_t panel_stride;
  int64_t k;                // K as staged (AView::k)
  const uint32_t* row_off;  // per row: −z_w·Σa + K·z_a·z_w (mod 2^32)
  int64_t row;              // index of row 0 in C
  const Columns* cols;      // np entries
  Prefetch next;            // this micro-tile's share of the next column block
};

using MicroFn = void (*)(const GemmS8Args&, const MicroArgs&);

// How A reaches the micro-kernels of one row chunk: a pointer, a row stride in bytes, K as the kernel sees it
// (e.g. padded to a multiple of 4 after staging) and a kernel mode for pick().
struct AView {
  const uint8_t* a;
  int64_t lda;
  int64_t k;
  int mode;
};

// The ISA file's micro-kernels: C rows [row, row + MR) × NP panels, all of K, epilogue included; kMode (0 ..
// kModes − 1) says how A is staged (AView::mode). Defined by the ISA file after this header.
template <int MR, int NP, int kMode>
void micro(const GemmS8Args& p, const MicroArgs& m);

// How a micro-kernel reads A (AView::mode): u8 bytes, s8 bytes, or int16 staged by widening.
enum AMode : int { kAU8 = 0, kAS8 = 1, kAWide = 2 };
constexpr int kModes = kWidenA ? 3 : 2;

// Micro-kernel tables: [mode][np − 1][mr − 1], for the main shapes (≤ kMr rows × ≤ kNp panels) and the GEMV
// shapes (≤ kGemvRows rows × ≤ kNpGemv panels).
template <int MaxRows, int NP, int kMode, int... R>
constexpr std::array<MicroFn, MaxRows> micro_rows(std::integer_sequence<int, R...>) {
  return {micro<R + 1, NP, kMode>...};
}
template <int MaxRows, int kMode, int... P>
constexpr std::array<std::array<MicroFn, MaxRows>, sizeof...(P)> micro_panels(std::integer_sequence<int, P...>) {
  return {micro_rows<MaxRows, P + 1, kMode>(std::make_integer_sequence<int, MaxRows>())...};
}
template <int MaxRows, int MaxPanels, int... M>
constexpr std::array<std::array<std::array<MicroFn, MaxRows>, MaxPanels>, sizeof...(M)> micro_table(
    std::integer_sequence<int, M...>) {
  return {micro_panels<MaxRows, M>(std::make_integer_sequence<int, MaxPanels>())...};
}
const auto kMainTable = micro_table<kMr, kNp>(std::make_integer_sequence<int, kModes>());
const auto kGemvTable = micro_table<kGemvRows, kNpGemv>(std::make_integer_sequence<int, kModes>());

MicroFn pick(int mode, bool gemv, int mr, int np) {
  return gemv ? kGemvTable[mode][np - 1][mr - 1] : kMainTable[mode][np - 1][mr - 1];
}

// A staging, once per row chunk into per-thread scratch (never for GEMV tiles, which are bound by streaming W):
//   VNNI (kWidenA false): s8 rows are flipped to u8 (a XOR 0x80 = a + 128, so z_a' = z_a + 128); u8 rows are read
//     where they are. Mode kAU8 reads u8 rows; kAS8 reads s8 rows as they are (GEMV, or no scratch).
//   exact widening (kWidenA true): rows are widened to int16 and zero-padded to a multiple of 4 k (mode kAWide);
//     GEMV tiles or a failed allocation read the bytes (kAU8 / kAS8) and widen in the micro-kernel.
// stage_rows (ISA file) writes `rows` rows of src (stride lda) to dst with row stride staged_k(k)·staged_bytes.
void stage_rows(const uint8_t* src, int64_t lda, int64_t rows, int64_t k, bool a_signed, uint8_t* dst);
int64_t staged_k(int64_t k) { return kWidenA ? (k + 3) / 4 * 4 : k; }
constexpr int64_t kStagedBytes = kWidenA ? 2 : 1;  // bytes per staged A element

// Row chunks: up to kRowChunk rows, fewer for long K so a chunk of staged A (≈ kChunkBytes) stays in L2.
int64_t a_chunk_rows(int64_t k) {
  return std::clamp<int64_t>(kChunkBytes / std::max<int64_t>(kStagedBytes * staged_k(k), 1) / kMr * kMr, kMr,
                             kRowChunk);
}

// Scratch bytes to stage `rows` rows of A (0: the micro-kernels read the caller's A).
size_t a_scratch_bytes(const GemmS8Args& p, bool gemv, int64_t rows, int64_t k) {
  const bool stage = !gemv && k > 0 && (kWidenA || p.a_signed);
  return stage ? static_cast<size_t>(rows * staged_k(k) * kStagedBytes) : 0;
}

// Stages the chunk's rows if there is scratch (null when a_scratch_bytes was 0 or the allocation failed).
AView a_view(const GemmS8Args& p, const uint8_t* src, int64_t rows, uint8_t* scratch) {
  const int64_t k = p.w->k;
  if (scratch == nullptr) return AView{src, p.lda, k, p.a_signed && k > 0 ? kAS8 : kAU8};
  stage_rows(src, p.lda, rows, k, p.a_signed, scratch);
  return AView{scratch, staged_k(k) * kStagedBytes, staged_k(k), kWidenA ? kAWide : kAU8};
}

// z_a as the kernel's integer sums see it.
uint32_t a_zero_point(const GemmS8Args& p) {
  return static_cast<uint32_t>(p.za) + (!kWidenA && p.a_signed ? 128u : 0u);
}

// Null if the scratch cannot be allocated (a_view then picks a mode that reads the caller's A). The buffer is this
// thread's, kept between calls (distiq/scratch.h, compiled at the baseline: the ISA file includes it).
uint8_t* a_scratch(size_t bytes) { return thread_scratch(ScratchSlot::kGemmS8Stage, bytes); }

void tile(const GemmS8Args& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const PackedS8& w = *p.w;
  const int64_t k = w.k;
  const size_t stride = panel_stride(k);
  const uint8_t* a = static_cast<const uint8_t*>(p.a);
  const uint32_t za = static_cast<uint32_t>(p.za), zw = static_cast<uint32_t>(p.zw);
  const uint32_t za_eff = a_zero_point(p);
  const uint32_t k_za_zw = static_cast<uint32_t>(k) * za * zw;
  const bool gemv = (m1 - m0) <= kGemvRows;
  const int np_max = gemv ? kNpGemv : kNp;
  const int mr_max = gemv ? kGemvRows : kMr;
  const int64_t chunk = a_chunk_rows(k);
  const size_t scratch_bytes = a_scratch_bytes(p, gemv, std::min(chunk, m1 - m0), k);
  uint8_t* scratch = scratch_bytes > 0 ? a_scratch(scratch_bytes) : nullptr;
  uint32_t row_off[kRowChunk];
  const int64_t step = kNp * kNr;
  const int64_t cols_fit = std::max<int64_t>(step, kWBlockBytes / static_cast<int64_t>(stride) * kNr);
  const int64_t blocks = (n1 - n0 + cols_fit - 1) / cols_fit;
  const int64_t n_block = ((n1 - n0 + blocks - 1) / blocks + step - 1) / step * step;
  int64_t row_blocks_total = 0;  // micro-tiles per column of micro-tiles, over all row chunks
  for (int64_t i0 = m0; i0 < m1; i0 += chunk) row_blocks_total += (std::min(m1, i0 + chunk) - i0 + mr_max - 1) / mr_max;
  const int64_t full_groups = k / 4;
  for (int64_t nb0 = n0; nb0 < n1; nb0 += n_block) {
    const int64_t nb1 = std::min(n1, nb0 + n_block);
    const uint8_t* next = w.panels + (nb1 / kNr) * stride;
    const int64_t next_cols = std::min(n1, nb1 + n_block) - nb1;
    const int64_t next_bytes = (next_cols + kNr - 1) / kNr * static_cast<int64_t>(stride);
    // None for the last block (and no divisions for one-block calls), nor for GEMV tiles: streaming W through
    // L1 at full speed, they keep the hardware prefetchers busy with the block itself, and software prefetches of
    // the next block only compete (avx512vnni, 1×4096×4096 and 4×4096×4096: 13-15 % faster without them; with
    // 16 rows they still pay: 7 % slower without).
    int64_t share = 0, pf_step = 0;
    if (next_bytes > 0 && full_groups > 0 && !gemv) {
      const int64_t micros = row_blocks_total * ((nb1 - nb0 + np_max * kNr - 1) / (np_max * kNr));
      share = (next_bytes / micros + 63) / 64 * 64;
      pf_step = std::min<int64_t>(256, (share / 64 + full_groups - 1) / full_groups * 64);
    }
    int64_t micro_index = 0;
    for (int64_t i0 = m0; i0 < m1; i0 += chunk) {
      const int64_t i1 = std::min(m1, i0 + chunk);
      for (int64_t i = i0; i < i1; ++i) {
        row_off[i - i0] = k_za_zw - (zw != 0 ? zw * row_sum(a + i * p.lda, k, p.a_signed) : 0u);
      }
      const AView view = a_view(p, a + i0 * p.lda, i1 - i0, scratch);
      const int64_t rows = i1 - i0;
      const int64_t row_blocks = (rows + mr_max - 1) / mr_max;
      const int64_t mr_even = (rows + row_blocks - 1) / row_blocks;
      for (int64_t i = i0; i < i1; i += mr_even) {
        const int mr = static_cast<int>(std::min<int64_t>(mr_even, i1 - i));
        for (int64_t j = nb0; j < nb1; j += np_max * kNr) {
          const int np = static_cast<int>(std::min<int64_t>(np_max, (nb1 - j + kNr - 1) / kNr));
          const uint8_t* panels = w.panels + (j / kNr) * stride;
          Columns cols[kNpGemv > kNp ? kNpGemv : kNp];
          for (int c = 0; c < np; ++c) cols[c] = load_columns(p, panels + c * stride, j + c * kNr, n1, za_eff);
          const int64_t pf0 = std::min(next_bytes, micro_index * share);
          const int64_t pf1 = std::min(next_bytes, pf0 + share);
          ++micro_index;
          const MicroArgs args{view.a + (i - i0) * view.lda, view.lda, panels, stride, view.k, row_off + (i - i0),
                               i, cols, Prefetch{next + pf0, next + pf1, pf_step}};
          pick(view.mode, gemv, mr, np)(p, args);
        }
      }
    }
  }
}
