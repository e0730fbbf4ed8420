package io.jgpt.cuda;

import io.jgpt.ops.Dropout;
import io.jgpt.tensor.Bf16;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The fp32 flash-attention kernels (kernels/flash_attention_forward.cu, flash_attention_backward.cu) replayed on the
 * host in float arithmetic, thread by thread as far as results depend on it: the same tile sizes (read from
 * kernels/flash_attention.cuh), the same channel-to-thread interleave, per-thread partial dot products in chunk
 * order combined by the same butterfly, the online-softmax update once per key tile in the kernel's order, the same
 * tile skipping and masking rules, and fmaf as {@link Math#fma}. Only expf/logf differ (here correctly rounded, on
 * the device within 2 ulp). Rows past T, which the kernels compute but never store, are left out.
 *
 * <p>Every visible (query, key) pair a kernel's tile schedule reaches is counted in {@link #visits}, so tests can
 * check that each is visited exactly once per kernel and that no tile the kernel treats as interior holds a masked
 * pair.
 */
final class FlashAttentionEmulation {

    /** The bf16 tensor-core kernels' constants, as #defined in kernels/flash_attention_mma.cuh. */
    record MmaTiling(int warps, int keyTile, int head) {
        static MmaTiling fromHeader() {
            try {
                String h = Files.readString(MMA_HEADER);
                return new MmaTiling(define(h, "FLASH_MMA_WARPS"), define(h, "FLASH_MMA_KEY_TILE"), define(h, "FLASH_MMA_HEAD"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        int rows() {
            return 16 * warps;
        }
    }

    static final Path MMA_HEADER = Path.of("kernels/flash_attention_mma.cuh");

    /** The kernels' constants, as #defined in the header. */
    record Tiling(int threads, int dimsPerThread, int keyTile, int queryTile, int maxGroup) {
        static Tiling fromHeader() {
            try {
                String h = Files.readString(HEADER);
                return new Tiling(define(h, "FLASH_THREADS"), define(h, "FLASH_DIMS_PER_THREAD"),
                        define(h, "FLASH_KEY_TILE"), define(h, "FLASH_QUERY_TILE"), define(h, "FLASH_MAX_GROUP"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        int group(int hs) {
            int g = 1;
            while (g * dimsPerThread < hs) g *= 2;
            return g <= maxGroup ? g : 0;
        }
    }

    static final Path HEADER = Path.of("kernels/flash_attention.cuh");

    static int define(String header, String name) {
        Matcher m = Pattern.compile("#define\\s+" + name + "\\s+(\\d+)").matcher(header);
        if (!m.find()) throw new IllegalStateException(name + " not #defined in " + HEADER);
        return Integer.parseInt(m.group(1));
    }

    private final Tiling tiling;
    private final int B, T, NH, hs, G, rows, chunks;
    private final float scale;
    private final Dropout dropout;
    /** visits[kernel][(bh*T + t)*T + j]: 0 forward, 1 dk/dv, 2 dq, 3 bf16 forward, 4 bf16 dk/dv, 5 bf16 dq. */
    final int[][] visits;
    /** Pairs that a kernel's schedule put in a tile it treats as interior (no per-element test) yet are masked. */
    int interiorMasked;

    FlashAttentionEmulation(Tiling tiling, int B, int T, int NH, int hs, Dropout dropout) {
        this.tiling = tiling;
        this.B = B;
        this.T = T;
        this.NH = NH;
        this.hs = hs;
        this.dropout = dropout;
        G = Math.max(1, tiling.group(hs));
        rows = tiling.threads() / G;
        chunks = tiling.dimsPerThread() / 4;
        scale = (float) (1.0 / Math.sqrt(hs));
        visits = new int[6][B * NH * T * T];
    }

    int rows() {
        return rows;
    }

    int group() {
        return G;
    }

    // ---- the header's index maps -----------------------------------------------------------------------

    int dim(int g, int i, int c) {
        return (i * G + g) * 4 + c;
    }

    static boolean needsMask(int row0, int rowCount, int key0, int keys, int T) {
        return key0 + keys - 1 > row0 || key0 + keys > T || row0 + rowCount > T;
    }

    static boolean visible(int t, int j, int T) {
        return j <= t && t < T;
    }

    static int keyTiles(int row0, int rowCount, int T, int tile) {
        return Math.ceilDiv(Math.min(row0 + rowCount, T), tile);
    }

    private float qkv(float[] qkv, int b, int t, int part, int h, int d) {
        int C = NH * hs;
        return t < T && d < hs ? qkv[(b * T + t) * 3 * C + part * C + h * hs + d] : 0f;
    }

    private float row(float[] x, int b, int t, int h, int d) {
        return t < T && d < hs ? x[(b * T + t) * NH * hs + h * hs + d] : 0f;
    }

    private float factor(int bh, int t, int j) {
        if (!dropout.active()) return 1f;
        return dropout.keep(((long) bh * T + t) * T + j) ? dropout.scale() : 0f;
    }

    /** Thread g's channels of a row, in the kernels' register order. */
    private interface Row {
        float at(int d);
    }

    private float[][] registers(Row r) {
        float[][] x = new float[G][tiling.dimsPerThread()];
        for (int g = 0; g < G; g++)
            for (int i = 0; i < chunks; i++)
                for (int c = 0; c < 4; c++) x[g][4 * i + c] = r.at(dim(g, i, c));
        return x;
    }

    /** flash_row_sum(flash_dot(a, row)) as thread 0 of the row computes it (every thread gets the same bits). */
    private float rowDot(float[][] a, Row row) {
        float[] partial = new float[G];
        for (int g = 0; g < G; g++) {
            float s = 0f;
            for (int i = 0; i < chunks; i++)
                for (int c = 0; c < 4; c++) s = Math.fma(a[g][4 * i + c], row.at(dim(g, i, c)), s);
            partial[g] = s;
        }
        return butterfly(partial)[0];
    }

    /** v[lane] += v[lane ^ o] for o = 1, 2, ... < n, as __shfl_xor_sync rounds do (n a power of two). */
    static float[] butterfly(float[] v) {
        float[] x = v.clone();
        for (int o = 1; o < x.length; o <<= 1) {
            float[] next = new float[x.length];
            for (int lane = 0; lane < x.length; lane++) next[lane] = x[lane] + x[lane ^ o];
            x = next;
        }
        return x;
    }

    /** The warp_sum butterfly of common.cuh: offsets 16, 8, 4, 2, 1. */
    static float warpSum(float[] lanes) {
        float[] x = lanes.clone();
        for (int o = 16; o > 0; o >>= 1) {
            float[] next = new float[32];
            for (int lane = 0; lane < 32; lane++) next[lane] = x[lane] + x[lane ^ o];
            x = next;
        }
        return x[0];
    }

    private void axpy(float[][] acc, float w, Row row) {
        for (int g = 0; g < G; g++)
            for (int i = 0; i < chunks; i++)
                for (int c = 0; c < 4; c++) acc[g][4 * i + c] = Math.fma(w, row.at(dim(g, i, c)), acc[g][4 * i + c]);
    }

    /** flash_add_row: part `part` of row t of dqkv += the G threads' registers. */
    private void addRow(float[] dqkv, float[][] v, int b, int t, int part, int h) {
        int C = NH * hs;
        for (int g = 0; g < G; g++)
            for (int i = 0; i < chunks; i++)
                for (int c = 0; c < 4; c++) {
                    int d = dim(g, i, c);
                    if (d < hs) dqkv[(b * T + t) * 3 * C + part * C + h * hs + d] += v[g][4 * i + c];
                }
    }

    /** The per-row work of a kernel: head bh = (b, h), the row's block starting at row0, row t (< T). */
    private interface RowTask {
        void run(int bh, int b, int h, int row0, int t);
    }

    /** Every row of every head, in blocks of {@link #rows} as the fp32 kernels' grids cut them. */
    private void eachRow(RowTask task) {
        for (int bh = 0; bh < B * NH; bh++)
            for (int row0 = 0; row0 < T; row0 += rows)
                for (int t = row0; t < Math.min(T, row0 + rows); t++) task.run(bh, bh / NH, bh % NH, row0, t);
    }

    private void count(int kernel, int bh, int t, int j, boolean edge) {
        if (!visible(t, j, T)) {
            if (!edge) interiorMasked++;
            return;
        }
        visits[kernel][(bh * T + t) * T + j]++;
    }

    // ---- flash_attention_forward_f32 -------------------------------------------------------------------

    void forward(float[] qkv, float[] out, float[] lse) {
        int KT = tiling.keyTile();
        eachRow((bh, b, h, row0, t) -> {
            float[][] q = registers(d -> qkv(qkv, b, t, 0, h, d));
            float[][] acc = new float[G][tiling.dimsPerThread()];
            float m = Float.NEGATIVE_INFINITY, l = 0f;
            for (int kt = 0; kt < keyTiles(row0, rows, T, KT); kt++) {
                int key0 = kt * KT;
                boolean edge = needsMask(row0, rows, key0, KT, T);
                float[] s = new float[KT];
                float tileMax = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < KT; j++) {
                    int key = key0 + j;
                    s[j] = rowDot(q, d -> qkv(qkv, b, key, 1, h, d)) * scale;
                    count(0, bh, t, key, edge);
                    if (edge && !visible(t, key, T)) s[j] = Float.NEGATIVE_INFINITY;
                    tileMax = Math.max(tileMax, s[j]);
                }
                float mNew = Math.max(m, tileMax), correction = (float) Math.exp(m - mNew);
                l *= correction;
                for (float[] a : acc) for (int d = 0; d < a.length; d++) a[d] *= correction;
                for (int j = 0; j < KT; j++) {
                    int key = key0 + j;
                    float p = (float) Math.exp(s[j] - mNew);
                    l += p;
                    axpy(acc, p * factor(bh, t, key), d -> qkv(qkv, b, key, 2, h, d));
                }
                m = mNew;
            }
            float inv = 1f / l;
            for (int g = 0; g < G; g++)
                for (int i = 0; i < chunks; i++)
                    for (int c = 0; c < 4; c++) {
                        int d = dim(g, i, c);
                        if (d < hs) out[(b * T + t) * NH * hs + h * hs + d] = acc[g][4 * i + c] * inv;
                    }
            lse[bh * T + t] = m + (float) Math.log(l);
        });
    }

    // ---- flash_attention_forward_bf16 ------------------------------------------------------------------

    /**
     * The tensor-core forward on bf16 inputs (qkv must hold bf16 values): warps of 16 query rows, 64-key tiles, each
     * row's sum kept as 4 per-lane shares (lane 4g + q holds columns 8n + 2q + {0, 1}) combined by the quad butterfly
     * at the end, probabilities times dropout rounded to bf16 before the second product, out rounded to bf16. The
     * tensor cores' order of summation inside one mma is not specified; here products are added in k order.
     */
    void forwardBf16(MmaTiling mt, float[] qkv, float[] out, float[] lse) {
        int rowsPerBlock = mt.rows(), KT = mt.keyTile(), C = NH * hs;
        if (hs > mt.head()) throw new IllegalArgumentException("head size " + hs + " > " + mt.head());
        int tiles = Math.ceilDiv(T, rowsPerBlock);
        for (int bh = 0; bh < B * NH; bh++) {
            int b = bh / NH, h = bh % NH;
            for (int tile = 0; tile < tiles; tile++) {
                int row0 = tile * rowsPerBlock;
                for (int warp = 0; warp < mt.warps(); warp++) {
                    int wrow0 = row0 + 16 * warp;
                    for (int t = wrow0; t < Math.min(T, wrow0 + 16); t++) {
                        float m = Float.NEGATIVE_INFINITY;
                        float[] share = new float[4]; // the quad's lanes' shares of l
                        float[] o = new float[mt.head()];
                        for (int kt = 0; kt < keyTiles(row0, rowsPerBlock, T, KT); kt++) {
                            int key0 = kt * KT;
                            boolean edge = needsMask(wrow0, 16, key0, KT, T);
                            float[] s = new float[KT];
                            float tileMax = Float.NEGATIVE_INFINITY;
                            for (int j = 0; j < KT; j++) {
                                int key = key0 + j;
                                s[j] = scoreDot(qkv, b, h, t, key, mt.head()) * scale;
                                count(3, bh, t, key, edge);
                                if (edge && !visible(t, key, T)) s[j] = Float.NEGATIVE_INFINITY;
                                tileMax = Math.max(tileMax, s[j]);
                            }
                            float mNew = Math.max(m, tileMax), correction = (float) Math.exp(m - mNew);
                            for (int q = 0; q < 4; q++) share[q] *= correction;
                            for (int d = 0; d < o.length; d++) o[d] *= correction;
                            float[] w = new float[KT];
                            for (int n = 0; n < KT / 8; n++)
                                for (int q = 0; q < 4; q++)
                                    for (int e = 0; e < 2; e++) {
                                        int j = 8 * n + 2 * q + e;
                                        float p = (float) Math.exp(s[j] - mNew);
                                        share[q] += p;
                                        w[j] = Bf16.round(p * factor(bh, t, key0 + j));
                                    }
                            for (int j = 0; j < KT; j++)
                                for (int d = 0; d < o.length; d++) o[d] = Math.fma(w[j], qkv(qkv, b, key0 + j, 2, h, d), o[d]);
                            m = mNew;
                        }
                        float l = butterfly(share)[0];
                        lse[bh * T + t] = m + (float) Math.log(l);
                        for (int d = 0; d < hs; d++) out[(b * T + t) * C + h * hs + d] = Bf16.round(o[d] / l);
                    }
                }
            }
        }
    }

    // ---- flash_attention_backward_* ---------------------------------------------------------------------

    /** dqkv += the gradient, as the delta, dk/dv and dq kernels compute it. */
    void backward(float[] dqkv, float[] dout, float[] qkv, float[] out, float[] lse) {
        float[] delta = delta(dout, out);
        dkdv(dqkv, dout, qkv, lse, delta);
        dq(dqkv, dout, qkv, lse, delta);
    }

    /** flash_attention_backward_delta (either storage): one warp per row, lanes striding the channels. */
    private float[] delta(float[] dout, float[] out) {
        float[] delta = new float[B * NH * T];
        for (int bh = 0; bh < B * NH; bh++) {
            for (int t = 0; t < T; t++) {
                float[] lanes = new float[32];
                for (int lane = 0; lane < 32; lane++)
                    for (int d = lane; d < hs; d += 32)
                        lanes[lane] = Math.fma(row(dout, bh / NH, t, bh % NH, d), row(out, bh / NH, t, bh % NH, d), lanes[lane]);
                delta[bh * T + t] = warpSum(lanes);
            }
        }
        return delta;
    }

    private void dkdv(float[] dqkv, float[] dout, float[] qkv, float[] lse, float[] delta) {
        int QT = tiling.queryTile();
        eachRow((bh, b, h, key0, j) -> {
            float[][] k = registers(d -> qkv(qkv, b, j, 1, h, d)), v = registers(d -> qkv(qkv, b, j, 2, h, d));
            float[][] dk = new float[G][tiling.dimsPerThread()], dv = new float[G][tiling.dimsPerThread()];
            for (int i0 = key0; i0 < T; i0 += QT) {
                boolean edge = needsMask(i0, QT, key0, rows, T);
                for (int i = 0; i < QT; i++) {
                    int t = i0 + i;
                    float rowLse = t < T ? lse[bh * T + t] : 0f, rowDelta = t < T ? delta[bh * T + t] : 0f;
                    Row q = d -> qkv(qkv, b, t, 0, h, d), dO = d -> row(dout, b, t, h, d);
                    float s = rowDot(k, q) * scale;
                    count(1, bh, t, j, edge);
                    float p = !edge || visible(t, j, T) ? (float) Math.exp(s - rowLse) : 0f;
                    float z = factor(bh, t, j);
                    axpy(dv, p * z, dO);
                    float dp = rowDot(v, dO);
                    axpy(dk, p * (dp * z - rowDelta) * scale, q);
                }
            }
            addRow(dqkv, dk, b, j, 1, h);
            addRow(dqkv, dv, b, j, 2, h);
        });
    }

    private void dq(float[] dqkv, float[] dout, float[] qkv, float[] lse, float[] delta) {
        int KT = tiling.keyTile();
        eachRow((bh, b, h, row0, t) -> {
            float[][] q = registers(d -> qkv(qkv, b, t, 0, h, d)), dO = registers(d -> row(dout, b, t, h, d));
            float[][] dq = new float[G][tiling.dimsPerThread()];
            float rowLse = lse[bh * T + t], rowDelta = delta[bh * T + t];
            for (int kt = 0; kt < keyTiles(row0, rows, T, KT); kt++) {
                int key0 = kt * KT;
                boolean edge = needsMask(row0, rows, key0, KT, T);
                for (int j = 0; j < KT; j++) {
                    int key = key0 + j;
                    Row k = d -> qkv(qkv, b, key, 1, h, d);
                    float s = rowDot(q, k) * scale;
                    count(2, bh, t, key, edge);
                    float p = !edge || visible(t, key, T) ? (float) Math.exp(s - rowLse) : 0f;
                    float dp = rowDot(dO, d -> qkv(qkv, b, key, 2, h, d));
                    float z = factor(bh, t, key);
                    axpy(dq, p * (dp * z - rowDelta) * scale, k);
                }
            }
            addRow(dqkv, dq, b, t, 0, h);
        });
    }

    // ---- flash_attention_backward_*_bf16 ----------------------------------------------------------------

    /**
     * The tensor-core backward on bf16 tensors (dqkv, dout, qkv, out must hold bf16 values): delta as above, then the
     * dk/dv kernel (warps of 16 keys against 64-query tiles from the block's first key on) and the dq kernel (warps
     * of 16 queries against the key tiles up to the block's diagonal), each testing elements only in the tiles the
     * kernel tests. P * Z (for dv) and dS / scale = P (Z dP - delta) (for dk, dq) are rounded to bf16 where they
     * become mma operands; dq, dk, dv are fp32 sums (added in k order here, an order the tensor cores do not
     * specify), multiplied by the scale (dq, dk) and added to dqkv with one bf16 rounding.
     */
    void backwardBf16(MmaTiling mt, float[] dqkv, float[] dout, float[] qkv, float[] out, float[] lse) {
        if (hs > mt.head()) throw new IllegalArgumentException("head size " + hs + " > " + mt.head());
        float[] delta = delta(dout, out);
        dkdvBf16(mt, dqkv, dout, qkv, lse, delta);
        dqBf16(mt, dqkv, dout, qkv, lse, delta);
    }

    /** q_t . k_j over the padded head as one chain of mma products adds it: fp32, channel order. */
    private float scoreDot(float[] qkv, int b, int h, int t, int j, int head) {
        float acc = 0f;
        for (int d = 0; d < head; d++) acc = Math.fma(qkv(qkv, b, t, 0, h, d), qkv(qkv, b, j, 1, h, d), acc);
        return acc;
    }

    /** dout_t . v_j, likewise. */
    private float gradientDot(float[] dout, float[] qkv, int b, int h, int t, int j, int head) {
        float acc = 0f;
        for (int d = 0; d < head; d++) acc = Math.fma(row(dout, b, t, h, d), qkv(qkv, b, j, 2, h, d), acc);
        return acc;
    }

    /** dqkv's part `part` of row t, channel d: one bf16 rounding of the stored value plus the kernel's sum. */
    private void addBf16(float[] dqkv, int b, int t, int part, int h, float[] sum, float factor) {
        int C = NH * hs;
        for (int d = 0; d < hs; d++) {
            int at = (b * T + t) * 3 * C + part * C + h * hs + d;
            dqkv[at] = Bf16.round(dqkv[at] + sum[d] * factor);
        }
    }

    private void dkdvBf16(MmaTiling mt, float[] dqkv, float[] dout, float[] qkv, float[] lse, float[] delta) {
        int rowsPerBlock = mt.rows(), head = mt.head();
        for (int bh = 0; bh < B * NH; bh++) {
            int b = bh / NH, h = bh % NH;
            for (int key0 = 0; key0 < T; key0 += rowsPerBlock)
                for (int warp = 0; warp < mt.warps(); warp++) {
                    int wkey0 = key0 + 16 * warp;
                    for (int j = wkey0; j < Math.min(T, wkey0 + 16); j++) {
                        float[] dk = new float[head], dv = new float[head];
                        for (int i0 = key0; i0 < T; i0 += rowsPerBlock) {
                            boolean edge = needsMask(i0, rowsPerBlock, wkey0, 16, T);
                            for (int t = i0; t < i0 + rowsPerBlock; t++) {
                                count(4, bh, t, j, edge);
                                float rowLse = t < T ? lse[bh * T + t] : 0f, rowDelta = t < T ? delta[bh * T + t] : 0f;
                                float s = scoreDot(qkv, b, h, t, j, head);
                                float p = !edge || visible(t, j, T) ? (float) Math.exp(s * scale - rowLse) : 0f;
                                float z = factor(bh, t, j), dp = gradientDot(dout, qkv, b, h, t, j, head);
                                float pz = Bf16.round(p * z), ds = Bf16.round(p * (dp * z - rowDelta));
                                for (int d = 0; d < head; d++) {
                                    dv[d] = Math.fma(pz, row(dout, b, t, h, d), dv[d]);
                                    dk[d] = Math.fma(ds, qkv(qkv, b, t, 0, h, d), dk[d]);
                                }
                            }
                        }
                        addBf16(dqkv, b, j, 1, h, dk, scale);
                        addBf16(dqkv, b, j, 2, h, dv, 1f);
                    }
                }
        }
    }

    private void dqBf16(MmaTiling mt, float[] dqkv, float[] dout, float[] qkv, float[] lse, float[] delta) {
        int rowsPerBlock = mt.rows(), KT = mt.keyTile(), head = mt.head();
        for (int bh = 0; bh < B * NH; bh++) {
            int b = bh / NH, h = bh % NH;
            for (int row0 = 0; row0 < T; row0 += rowsPerBlock)
                for (int warp = 0; warp < mt.warps(); warp++) {
                    int wrow0 = row0 + 16 * warp;
                    for (int t = wrow0; t < Math.min(T, wrow0 + 16); t++) {
                        float[] dq = new float[head];
                        float rowLse = lse[bh * T + t], rowDelta = delta[bh * T + t];
                        for (int kt = 0; kt < keyTiles(row0, rowsPerBlock, T, KT); kt++) {
                            int key0 = kt * KT;
                            boolean edge = needsMask(wrow0, 16, key0, KT, T);
                            for (int j = key0; j < key0 + KT; j++) {
                                count(5, bh, t, j, edge);
                                float s = scoreDot(qkv, b, h, t, j, head);
                                float p = !edge || visible(t, j, T) ? (float) Math.exp(s * scale - rowLse) : 0f;
                                float z = factor(bh, t, j), dp = gradientDot(dout, qkv, b, h, t, j, head);
                                float ds = Bf16.round(p * (dp * z - rowDelta));
                                for (int d = 0; d < head; d++) dq[d] = Math.fma(ds, qkv(qkv, b, j, 1, h, d), dq[d]);
                            }
                        }
                        addBf16(dqkv, b, t, 0, h, dq, scale);
                    }
                }
        }
    }
}
