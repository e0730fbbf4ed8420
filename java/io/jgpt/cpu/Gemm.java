package io.jgpt.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Cache-blocked, register-tiled single-precision matrix multiply: {@code C(m,n) += A(m,k) · B(k,n)}, where A and
 * B are strided {@link View}s (so transposed operands cost nothing) and C is row-major.
 *
 * <p>Structure (the Goto/BLIS scheme, arranged so that every source element is packed exactly once):
 * <ul>
 *   <li>The operand on the smaller side of C is <em>shared</em>: A when C is wide (m <= n), else B. It is
 *       packed once, in parallel, per k super-block (sized to a fixed budget, so a long k such as the lm_head's
 *       50257 does not need a huge buffer). A is packed into MR-row panels and B into NR-column slivers, each
 *       interleaved by k so the micro-kernel reads them sequentially.</li>
 *   <li>Tasks split the other side: each owns whole column blocks of C (wide) or whole row blocks (tall), packs
 *       its own part of the other operand one KC step at a time, and keeps its C block hot in L2 across k.
 *       Packing inside 2-D tasks instead would repack A for every column block and B for every row block.</li>
 *   <li>Per KC step, each B sliver (KC x NR, in L1) is reused by all row panels of the task's A (in L2).</li>
 *   <li>The micro-kernel keeps an MR x NR tile of C in vector registers for the whole KC step: per k it loads
 *       two B vectors, broadcasts MR A scalars and issues 2*MR FMAs, so it is bound by FMA throughput rather
 *       than by memory.</li>
 * </ul>
 * Ragged edges are zero-padded when packing, so one kernel handles every size; only the final write-back of
 * an edge tile goes through a small buffer. Each element of C sums its k range in the same order (KC steps
 * in sequence) however the tasks are cut and scheduled, so results do not depend on the thread count.
 *
 * <p>Not thread-safe: the shared packed operand belongs to one call at a time (the backend issues one op at
 * a time).
 */
final class Gemm {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Micro-tile: MR rows x (2 vectors) columns = 12 accumulators, leaving registers for operands. */
    static final int MR = 6;
    static final int NR = 2 * L;
    /** k step of the micro-kernel: a B sliver (KC x NR floats) stays in L1 while A panels stream from L2. */
    static final int KC = 128;
    /** Largest task (rows when tall, columns when wide): its C block plus operands fit in L2. */
    private static final int MC = 24 * MR, NC = 4 * NR;
    /** Fewest tasks when the matrix allows it, so two threads stay balanced when one is slowed down. */
    private static final int MIN_TASKS = 12;
    /** Floats of the shared packed operand per k super-block: bounds scratch memory and keeps it in the L3. */
    static final int PACK_BUDGET = 1 << 22;
    /** Panels (or slivers) of the shared operand packed per pack task: enough to amortise the hand-off. */
    private static final int PANELS_PER_PACK = 8;

    private final Parallel parallel;
    private final int packBudget;
    private final Scratch local = new Scratch(2);
    private float[] shared = new float[0];

    Gemm(Parallel parallel) {
        this(parallel, PACK_BUDGET);
    }

    /** A smaller budget lets tests reach the multi-super-block path on small matrices. */
    Gemm(Parallel parallel, int packBudget) {
        this.parallel = parallel;
        this.packBudget = packBudget;
    }

    /** {@code c(m,n) += a(m,k) · b(k,n)}; c is row-major with row stride {@code ldc}. */
    void multiplyAdd(int m, int n, int k, View a, View b, float[] c, int ldc) {
        multiplyAdd(m, n, k, a, b, c, 0, ldc);
    }

    /** As above, with c's element (0, 0) at {@code c[cOff]}: c may be a block of a larger matrix. */
    void multiplyAdd(int m, int n, int k, View a, View b, float[] c, int cOff, int ldc) {
        if (m <= 0 || n <= 0 || k <= 0) return;
        boolean wide = m <= n;
        // Shared side: A's MR-row panels (wide) or B's NR-column slivers (tall); tasks cut the other side.
        int sharedPanels = wide ? Math.ceilDiv(m, MR) : Math.ceilDiv(n, NR), sharedWidth = wide ? MR : NR;
        int taskPanels = wide ? Math.ceilDiv(n, NR) : Math.ceilDiv(m, MR), taskWidth = wide ? NR : MR;
        int tasks = Math.min(taskPanels, Math.max(MIN_TASKS, Math.ceilDiv(taskPanels, (wide ? NC : MC) / taskWidth)));
        int span = taskWidth * Math.ceilDiv(taskPanels, tasks); // rows or columns per task, whole panels
        int taskCount = Math.ceilDiv(wide ? n : m, span);
        int ks = Math.min(k, Math.max(KC, packBudget / (sharedPanels * sharedWidth) / KC * KC));
        if (shared.length < sharedPanels * sharedWidth * ks) shared = new float[sharedPanels * sharedWidth * ks];
        int packTasks = Math.ceilDiv(sharedPanels, PANELS_PER_PACK);
        for (int p0 = 0; p0 < k; p0 += ks) {
            int kc = Math.min(ks, k - p0), from = p0;
            parallel.forEach(packTasks, g -> {
                for (int p = g * PANELS_PER_PACK; p < Math.min(sharedPanels, (g + 1) * PANELS_PER_PACK); p++) {
                    if (wide) packA(a, p * MR, Math.min(MR, m - p * MR), from, kc, shared, p * MR * kc);
                    else packB(b, from, kc, p * NR, Math.min(NR, n - p * NR), shared, p * NR * kc);
                }
            });
            parallel.forEach(taskCount, t -> {
                if (wide) columns(t * span, Math.min(n, (t + 1) * span), m, from, kc, b, c, cOff, ldc);
                else rows(t * span, Math.min(m, (t + 1) * span), n, from, kc, a, c, cOff, ldc);
            });
        }
    }

    /** Wide task: C columns [j0,j1) of every row += shared packed A · B, B packed here per KC step. */
    private void columns(int j0, int j1, int m, int p0, int kc, View b, float[] c, int cOff, int ldc) {
        float[] bp = local.get(0, KC * (j1 - j0 + NR)), edge = local.get(1, MR * NR);
        for (int q0 = 0; q0 < kc; q0 += KC) {
            int kq = Math.min(KC, kc - q0);
            for (int j = j0; j < j1; j += NR) packB(b, p0 + q0, kq, j, Math.min(NR, j1 - j), bp, (j - j0) * kq);
            for (int j = j0; j < j1; j += NR) {
                for (int i = 0; i < m; i += MR) {
                    tile(kq, shared, i * kc + q0 * MR, bp, (j - j0) * kq, c, cOff + i * ldc + j, ldc,
                            Math.min(MR, m - i), Math.min(NR, j1 - j), edge);
                }
            }
        }
    }

    /** Tall task: C rows [i0,i1) of every column += A · shared packed B, A packed here per KC step. */
    private void rows(int i0, int i1, int n, int p0, int kc, View a, float[] c, int cOff, int ldc) {
        float[] ap = local.get(0, KC * (i1 - i0 + MR)), edge = local.get(1, MR * NR);
        for (int q0 = 0; q0 < kc; q0 += KC) {
            int kq = Math.min(KC, kc - q0);
            for (int i = i0; i < i1; i += MR) packA(a, i, Math.min(MR, i1 - i), p0 + q0, kq, ap, (i - i0) * kq);
            for (int j = 0; j < n; j += NR) {
                for (int i = i0; i < i1; i += MR) {
                    tile(kq, ap, (i - i0) * kq, shared, j * kc + q0 * NR, c, cOff + i * ldc + j, ldc,
                            Math.min(MR, i1 - i), Math.min(NR, n - j), edge);
                }
            }
        }
    }

    /** Rows [i,i+rows) x k [p0,p0+kc) of A as one MR-row panel at ap[dst]: element (r, kk) at kk*MR + r. */
    private static void packA(View a, int i, int rows, int p0, int kc, float[] ap, int dst) {
        float[] src = a.a();
        int rs = a.rowStride(), cs = a.colStride();
        int base = a.offset() + i * rs + p0 * cs;
        if (rows == MR) {
            for (int kk = 0; kk < kc; kk++, base += cs, dst += MR) {
                for (int r = 0; r < MR; r++) ap[dst + r] = src[base + r * rs];
            }
        } else {
            for (int kk = 0; kk < kc; kk++, base += cs, dst += MR) {
                for (int r = 0; r < MR; r++) ap[dst + r] = r < rows ? src[base + r * rs] : 0f;
            }
        }
    }

    /** k [p0,p0+kc) x columns [j,j+cols) of B as one sliver at bp[dst]: row kk at kk*NR, zero-padded to NR. */
    private static void packB(View b, int p0, int kc, int j, int cols, float[] bp, int dst) {
        float[] src = b.a();
        int rs = b.rowStride(), cs = b.colStride();
        int base = b.offset() + p0 * rs + j * cs;
        // Walk the source along whichever direction is contiguous.
        if (cs == 1 && cols == NR) {
            for (int kk = 0; kk < kc; kk++, base += rs, dst += NR) {
                FloatVector.fromArray(S, src, base).intoArray(bp, dst);
                FloatVector.fromArray(S, src, base + L).intoArray(bp, dst + L);
            }
        } else if (cs == 1) {
            VectorMask<Float> m0 = S.indexInRange(0, cols), m1 = S.indexInRange(L, cols);
            for (int kk = 0; kk < kc; kk++, base += rs, dst += NR) {
                FloatVector.fromArray(S, src, base, m0).intoArray(bp, dst);
                FloatVector.fromArray(S, src, base + L, m1).intoArray(bp, dst + L);
            }
        } else {
            for (int jj = 0; jj < NR; jj++) {
                if (jj < cols) {
                    for (int kk = 0, o = base + jj * cs; kk < kc; kk++, o += rs) bp[dst + kk * NR + jj] = src[o];
                } else {
                    for (int kk = 0; kk < kc; kk++) bp[dst + kk * NR + jj] = 0f;
                }
            }
        }
    }

    /**
     * C[rows x cols tile at cOff] += packed A panel (MR x kc) · packed B sliver (kc x NR). An edge tile is
     * computed into a zeroed MR x NR buffer and added from there: keeping every edge branch out of
     * {@link #kernel} matters, because once the JIT has seen one ragged tile (the lm_head's 50257 columns)
     * it compiles the single shared kernel into code that is about twice as slow for every shape.
     */
    private static void tile(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] c, int cOff, int ldc,
                             int rows, int cols, float[] edge) {
        if (rows == MR && cols == NR) kernel(kc, ap, aOff, 1, MR, bp, bOff, c, cOff, ldc);
        else edgeTile(kc, ap, aOff, 1, MR, bp, bOff, c, cOff, ldc, rows, cols, edge);
    }

    /**
     * A ragged tile (rows ≤ MR, cols ≤ NR; A must hold MR readable rows): computed into a zeroed MR x NR
     * buffer and added from there. 0 + sum is exact, so an edge element gets the same bits as in a full tile.
     */
    static void edgeTile(int k, float[] a, int ao, int ars, int acs, float[] bp, int bo, float[] c, int co, int ldc,
                         int rows, int cols, float[] edge) {
        Arrays.fill(edge, 0, MR * NR, 0f);
        kernel(k, a, ao, ars, acs, bp, bo, edge, 0, NR);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) c[co + r * ldc + j] += edge[r * NR + j];
        }
    }

    /**
     * C[MR x NR tile at co] += A (MR rows, element (r, kk) at ao + r*ars + kk*acs) · packed B sliver (k x NR
     * at bo); no edge cases. Packed A panels are the strides (1, MR); attention reads A in place.
     */
    static void kernel(int k, float[] a, int ao, int ars, int acs, float[] bp, int bo, float[] c, int co, int ldc) {
        // Twelve named accumulators: arrays of vectors would not be kept in registers.
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        int r1 = ars, r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars;
        for (int kk = 0, ai = ao, bi = bo; kk < k; kk++, ai += acs, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector x = FloatVector.broadcast(S, a[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ai + r1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ai + r2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ai + r3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ai + r4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ai + r5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        int o = co;
        FloatVector.fromArray(S, c, o).add(c00).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).add(c01).intoArray(c, o + L);
        o += ldc;
        FloatVector.fromArray(S, c, o).add(c10).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).add(c11).intoArray(c, o + L);
        o += ldc;
        FloatVector.fromArray(S, c, o).add(c20).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).add(c21).intoArray(c, o + L);
        o += ldc;
        FloatVector.fromArray(S, c, o).add(c30).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).add(c31).intoArray(c, o + L);
        o += ldc;
        FloatVector.fromArray(S, c, o).add(c40).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).add(c41).intoArray(c, o + L);
        o += ldc;
        FloatVector.fromArray(S, c, o).add(c50).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).add(c51).intoArray(c, o + L);
    }
}
