// Host-compiled checks of the __host__ __device__ helpers in kernels/flash_attention.cuh, the functions the
// kernels themselves call (FlashAttentionHostTest compiles this with nvcc and runs it). Prints one
// "geometry hs G rows padded forwardShared dkdvShared" line per head size for the Java side to compare with
// FlashGeometry, "FAIL ..." for each violated property, and exits 1 if there was any.
#include <cstdio>
#include <set>

#include "flash_attention.cuh"
#include "flash_attention_mma.cuh"

static int failures = 0;

#define EXPECT(cond, ...)                         \
    do {                                          \
        if (!(cond)) {                            \
            std::printf("FAIL %s: ", #cond);      \
            std::printf(__VA_ARGS__);             \
            std::printf("\n");                    \
            failures++;                           \
        }                                         \
    } while (0)

// Each thread's channels: every channel of the padded row exactly once, chunk i of the G threads of a row on
// neighbouring 16-byte words (so a warp's float4 reads of one tile row hit G distinct, adjacent words).
static void channelInterleave() {
    for (int G = 1; G <= FLASH_MAX_GROUP; G *= 2) {
        std::set<int> seen;
        for (int g = 0; g < G; g++)
            for (int i = 0; i < FLASH_CHUNKS; i++) {
                EXPECT(flash_dim(g, G, i, 0) % 4 == 0, "G=%d g=%d i=%d not 16-byte aligned", G, g, i);
                if (g > 0) EXPECT(flash_dim(g, G, i, 0) == flash_dim(g - 1, G, i, 0) + 4, "G=%d g=%d i=%d", G, g, i);
                for (int c = 0; c < 4; c++) seen.insert(flash_dim(g, G, i, c));
            }
        EXPECT((int)seen.size() == flash_padded(G) && *seen.begin() == 0 && *seen.rbegin() == flash_padded(G) - 1,
               "G=%d covers %zu channels", G, seen.size());
    }
}

// The tile schedule of the forward/dq kernels (key tiles of one query block) and the dk/dv kernel (query tiles
// of one key block): every visible pair reached exactly once, and tiles without the per-element test hold only
// visible pairs.
static void tileSchedules() {
    for (int G = 1; G <= FLASH_MAX_GROUP; G *= 2) {
        int rows = flash_rows(G);
        for (int T = 1; T <= 300; T += (T < 70 ? 1 : 37)) {
            std::set<long> forward, dkdv;
            for (int row0 = 0; row0 < T; row0 += rows) {
                for (int kt = 0; kt < flash_key_tiles(row0, rows, T, FLASH_KEY_TILE); kt++) {
                    int key0 = kt * FLASH_KEY_TILE;
                    bool edge = flash_needs_mask(row0, rows, key0, FLASH_KEY_TILE, T);
                    for (int t = row0; t < row0 + rows; t++)
                        for (int j = key0; j < key0 + FLASH_KEY_TILE; j++) {
                            if (!flash_visible(t, j, T)) {
                                EXPECT(edge, "forward G=%d T=%d tile (%d, %d) hides masked (%d, %d)", G, T, row0, key0, t, j);
                                continue;
                            }
                            EXPECT(forward.insert((long)t * T + j).second, "forward G=%d T=%d (%d, %d) twice", G, T, t, j);
                        }
                }
            }
            for (int key0 = 0; key0 < T; key0 += rows) {
                for (int i0 = key0; i0 < T; i0 += FLASH_QUERY_TILE) {
                    bool edge = flash_needs_mask(i0, FLASH_QUERY_TILE, key0, rows, T);
                    for (int t = i0; t < i0 + FLASH_QUERY_TILE; t++)
                        for (int j = key0; j < key0 + rows; j++) {
                            if (!flash_visible(t, j, T)) {
                                EXPECT(edge, "dkdv G=%d T=%d tile (%d, %d) hides masked (%d, %d)", G, T, i0, key0, t, j);
                                continue;
                            }
                            EXPECT(dkdv.insert((long)t * T + j).second, "dkdv G=%d T=%d (%d, %d) twice", G, T, t, j);
                        }
                }
            }
            long pairs = (long)T * (T + 1) / 2;
            EXPECT((long)forward.size() == pairs, "forward G=%d T=%d reaches %zu of %ld pairs", G, T, forward.size(), pairs);
            EXPECT((long)dkdv.size() == pairs, "dkdv G=%d T=%d reaches %zu of %ld pairs", G, T, dkdv.size(), pairs);
        }
    }
}

// Index maps against the layouts Ops documents: qkv (B,T,3C) = [q | k | v], rows (B,T,C), dropout
// ((b*NH + h)*T + t)*T + t2.
static void indexMaps() {
    const int B = 2, T = 5, NH = 3, hs = 7, C = NH * hs;
    size_t expect = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int part = 0; part < 3; part++)
                for (int h = 0; h < NH; h++)
                    for (int d = 0; d < hs; d++, expect++)
                        EXPECT(flash_qkv_index(b, t, part, h, d, T, NH, hs) == expect, "qkv (%d,%d,%d,%d,%d)", b, t, part, h, d);
    EXPECT(flash_row_index(1, 2, 1, 3, T, NH, hs) == (size_t)(1 * T + 2) * C + 1 * hs + 3, "row index");
    EXPECT(flash_dropout_index(4, 3, 2, T) == (uint64_t)(4 * T + 3) * T + 2, "dropout index");
    EXPECT(flash_reversed_tile(0, 4) == 3 && flash_reversed_tile(3, 4) == 0, "reversed tiles");
}

// The m16n8k16 fragment maps against the PTX ISA's layout figures for .bf16 A, B and f32 C/D ("Matrix Fragments
// for mma.m16n8k16 with floating point type"): element coordinates of lanes 0, 5 and 31 as the figures show
// them, every matrix element held by exactly one (lane, element), and register pairs on neighbouring elements.
struct Cell { int row, col; };

static void fragmentsMatchTheIsaFigures() {
    const int lanes[] = {0, 5, 31};
    const Cell a[3][8] = {{{0, 0}, {0, 1}, {8, 0}, {8, 1}, {0, 8}, {0, 9}, {8, 8}, {8, 9}},
                          {{1, 2}, {1, 3}, {9, 2}, {9, 3}, {1, 10}, {1, 11}, {9, 10}, {9, 11}},
                          {{7, 6}, {7, 7}, {15, 6}, {15, 7}, {7, 14}, {7, 15}, {15, 14}, {15, 15}}};
    const Cell b[3][4] = {{{0, 0}, {1, 0}, {8, 0}, {9, 0}}, {{2, 1}, {3, 1}, {10, 1}, {11, 1}},
                          {{6, 7}, {7, 7}, {14, 7}, {15, 7}}};
    const Cell c[3][4] = {{{0, 0}, {0, 1}, {8, 0}, {8, 1}}, {{1, 2}, {1, 3}, {9, 2}, {9, 3}},
                          {{7, 6}, {7, 7}, {15, 6}, {15, 7}}};
    for (int k = 0; k < 3; k++) {
        int lane = lanes[k];
        for (int i = 0; i < 8; i++)
            EXPECT(mma_a_row(lane, i) == a[k][i].row && mma_a_col(lane, i) == a[k][i].col, "A lane %d a%d", lane, i);
        for (int i = 0; i < 4; i++) {
            EXPECT(mma_b_row(lane, i) == b[k][i].row && mma_b_col(lane, i) == b[k][i].col, "B lane %d b%d", lane, i);
            EXPECT(mma_c_row(lane, i) == c[k][i].row && mma_c_col(lane, i) == c[k][i].col, "C lane %d c%d", lane, i);
        }
    }
    std::set<int> as, bs, cs;
    for (int lane = 0; lane < 32; lane++) {
        for (int i = 0; i < 8; i++) as.insert(mma_a_row(lane, i) * 16 + mma_a_col(lane, i));
        for (int i = 0; i < 4; i++) {
            bs.insert(mma_b_row(lane, i) * 8 + mma_b_col(lane, i));
            cs.insert(mma_c_row(lane, i) * 8 + mma_c_col(lane, i));
        }
        // A register r holds (a_2r, a_2r+1): one row, neighbouring columns, lower column in the low half.
        for (int r = 0; r < 4; r++)
            EXPECT(mma_a_row(lane, 2 * r) == mma_a_row(lane, 2 * r + 1)
                   && mma_a_col(lane, 2 * r) + 1 == mma_a_col(lane, 2 * r + 1), "A register %d of lane %d", r, lane);
        // B register r holds (b_2r, b_2r+1): one column, neighbouring k.
        for (int r = 0; r < 2; r++)
            EXPECT(mma_b_col(lane, 2 * r) == mma_b_col(lane, 2 * r + 1)
                   && mma_b_row(lane, 2 * r) + 1 == mma_b_row(lane, 2 * r + 1), "B register %d of lane %d", r, lane);
    }
    EXPECT(as.size() == 256 && bs.size() == 128 && cs.size() == 128, "fragments cover %zu, %zu, %zu elements",
           as.size(), bs.size(), cs.size());
}

// The bf16 kernel feeds score accumulators straight into the second product's A operand: for every lane, k-step
// and element, the A element's (row, column) is the one the chosen accumulator holds.
static void scoresBecomeTheNextAOperand() {
    for (int lane = 0; lane < 32; lane++)
        for (int step = 0; step < FLASH_MMA_KEY_TILE / 16; step++)
            for (int i = 0; i < 8; i++) {
                int tile = mma_c_tile_for_a(step, i), e = mma_c_index_for_a(i);
                EXPECT(mma_c_row(lane, e) == mma_a_row(lane, i)
                       && 8 * tile + mma_c_col(lane, e) == 16 * step + mma_a_col(lane, i),
                       "lane %d step %d a%d", lane, step, i);
            }
}

// Shared tiles of FLASH_MMA_STRIDE bf16 per row: the 8 rows (groupIDs) a fragment load touches at one column
// fall on 8 distinct 4-bank groups, so with the 4 threads of a group the warp reads 32 distinct banks.
static void fragmentLoadsAreConflictFree() {
    for (int col = 0; col < FLASH_MMA_HEAD; col += 16) {
        std::set<int> banks;
        for (int lane = 0; lane < 32; lane++) {
            int element = mma_b_col(lane, 0) * FLASH_MMA_STRIDE + col + mma_b_row(lane, 0);
            banks.insert((element * 2 / 4) % 32);
        }
        EXPECT(banks.size() == 32, "column %d: %zu banks", col, banks.size());
    }
    EXPECT(FLASH_MMA_STRIDE % 8 == 0, "rows must stay 16-byte aligned for the uint4 tile loads");
}

// ldmatrix.x4.trans as the PTX ISA specifies it: lane 8m + i gives the address of row i of 8x8 matrix m, and lane
// 4r + w receives in register m the elements (2w, r) and (2w + 1, r) of matrix m (its rows as addressed, its
// columns as stored). Put through that rule, the addresses mma_ldsm_row/col give must yield the B fragments
// (mma_b_row, mma_b_col) of the 16 x 16 block's two 8-column halves: registers 0, 1 the first, 2, 3 the second.
static void ldmatrixTransGivesTheBFragments() {
    for (int lane = 0; lane < 32; lane++)
        for (int m = 0; m < 4; m++)
            for (int e = 0; e < 2; e++) {
                int r = lane / 4, w = lane % 4, provider = 8 * m + 2 * w + e;
                int row = mma_ldsm_row(provider), col = mma_ldsm_col(provider) + r;
                int half = m >> 1, element = 2 * (m & 1) + e;
                EXPECT(row == mma_b_row(lane, element) && col == 8 * half + mma_b_col(lane, element),
                       "lane %d register %d element %d holds (%d, %d)", lane, m, e, row, col);
            }
    // Each matrix's 8 row addresses, at every block a kernel reads (k-steps of 16 rows, column pairs of n-tiles),
    // are 16-byte aligned and fall on the 8 distinct 16-byte bank groups of a 128-byte line: no conflicts.
    for (int s = 0; s < FLASH_MMA_KEY_TILE / 16; s++)
        for (int n = 0; n < FLASH_MMA_HEAD / 8; n += 2)
            for (int m = 0; m < 4; m++) {
                std::set<int> groups;
                for (int i = 0; i < 8; i++) {
                    int lane = 8 * m + i;
                    int element = (16 * s + mma_ldsm_row(lane)) * FLASH_MMA_STRIDE + 8 * n + mma_ldsm_col(lane);
                    EXPECT(element * 2 % 16 == 0, "block (%d, %d) lane %d not 16-byte aligned", s, n, lane);
                    groups.insert(element * 2 / 16 % 8);
                }
                EXPECT(groups.size() == 8, "block (%d, %d) matrix %d: %zu bank groups", s, n, m, groups.size());
            }
}

// The bf16 kernels' tile schedules, per warp of 16 rows as the kernels test elements: the forward and dq kernels
// (query blocks of 64, key tiles up to the block's diagonal, flash_needs_mask per warp) and the dk/dv kernel (key
// blocks of 64, query tiles from the block's first key on): every visible pair reached exactly once, and tiles
// without the per-element test hold only visible pairs.
static void mmaTileSchedules() {
    const int rows = FLASH_MMA_ROWS, tile = FLASH_MMA_KEY_TILE;
    for (int T = 1; T <= 300; T += (T < 140 ? 1 : 23)) {
        std::set<long> queries, keys;
        for (int row0 = 0; row0 < T; row0 += rows)
            for (int w = 0; w < FLASH_MMA_WARPS; w++) {
                int wrow0 = row0 + 16 * w;
                for (int kt = 0; kt < flash_key_tiles(row0, rows, T, tile); kt++) {
                    int key0 = kt * tile;
                    bool edge = flash_needs_mask(wrow0, 16, key0, tile, T);
                    for (int t = wrow0; t < wrow0 + 16; t++)
                        for (int j = key0; j < key0 + tile; j++) {
                            if (!flash_visible(t, j, T)) {
                                EXPECT(edge, "bf16 dq T=%d warp rows %d tile %d hides masked (%d, %d)", T, wrow0, key0, t, j);
                                continue;
                            }
                            EXPECT(queries.insert((long)t * T + j).second, "bf16 dq T=%d (%d, %d) twice", T, t, j);
                        }
                }
            }
        for (int key0 = 0; key0 < T; key0 += rows)
            for (int w = 0; w < FLASH_MMA_WARPS; w++) {
                int wkey0 = key0 + 16 * w;
                for (int i0 = key0; i0 < T; i0 += rows) {
                    bool edge = flash_needs_mask(i0, rows, wkey0, 16, T);
                    for (int t = i0; t < i0 + rows; t++)
                        for (int j = wkey0; j < wkey0 + 16; j++) {
                            if (!flash_visible(t, j, T)) {
                                EXPECT(edge, "bf16 dkdv T=%d warp keys %d tile %d hides masked (%d, %d)", T, wkey0, i0, t, j);
                                continue;
                            }
                            EXPECT(keys.insert((long)t * T + j).second, "bf16 dkdv T=%d (%d, %d) twice", T, t, j);
                        }
                }
            }
        long pairs = (long)T * (T + 1) / 2;
        EXPECT((long)queries.size() == pairs, "bf16 dq T=%d reaches %zu of %ld pairs", T, queries.size(), pairs);
        EXPECT((long)keys.size() == pairs, "bf16 dkdv T=%d reaches %zu of %ld pairs", T, keys.size(), pairs);
    }
    // Static shared memory: within the 48 KiB a block may declare statically. The Java side checks the geometry
    // line: "mma-geometry rows head tiles(T=100) forwardShared dkdvShared dqShared".
    std::printf("mma-geometry %d %d %d %d %d %d\n", FLASH_MMA_ROWS, FLASH_MMA_HEAD, flash_mma_tiles(100),
                flash_mma_forward_shared_bytes(), flash_mma_dkdv_shared_bytes(), flash_mma_dq_shared_bytes());
    EXPECT(flash_mma_forward_shared_bytes() <= 48 * 1024 && flash_mma_dkdv_shared_bytes() <= 48 * 1024
           && flash_mma_dq_shared_bytes() <= 48 * 1024, "bf16 kernels' static shared memory over 48 KiB");
}

int main() {
    for (int hs : {1, 19, 32, 33, 64, 65, 100, 128, 129}) {
        int G = flash_group(hs);
        std::printf("geometry %d %d %d %d %d %d\n", hs, G, G ? flash_rows(G) : 0, G ? flash_padded(G) : 0,
                    G ? flash_forward_shared_bytes(G) : 0, G ? flash_dkdv_shared_bytes(G) : 0);
        if (G) EXPECT(flash_dkdv_shared_bytes(G) <= 48 * 1024 && flash_forward_shared_bytes(G) <= 48 * 1024,
                      "hs %d needs more than 48 KiB of shared memory", hs);
    }
    channelInterleave();
    tileSchedules();
    indexMaps();
    fragmentsMatchTheIsaFigures();
    scoresBecomeTheNextAOperand();
    fragmentLoadsAreConflictFree();
    ldmatrixTransGivesTheBFragments();
    mmaTileSchedules();
    std::printf(failures ? "%d failures\n" : "all host checks passed\n", failures);
    return failures ? 1 : 0;
}
