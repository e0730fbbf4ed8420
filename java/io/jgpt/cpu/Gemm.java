package io.jgpt.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Cache-blocked, register-tiled single-precision matrix multiply: {@code C(m,n) += A(m,k) · B(k,n)}, where A and
 * B are strided {@link View}s (so transposed operands cost nothing) and C is row-major.
 *
 * <p>Structure (the Goto/BLIS scheme, arranged so that no source element is packed twice):
 * <ul>
 *   <li>A is never packed: the micro-kernel broadcasts one A scalar at a time, so it reads whole MR-row panels
 *       in place through A's strides (a packed copy would only add a pass over A; measured, dropping it saved
 *       ~4 % of a book-124m training step). Only a ragged last panel is copied, zero-padded, per KC step.</li>
 *   <li>B is packed into NR-column slivers interleaved by k, so the kernel reads it sequentially. When C is
 *       wide (m <= n) each task owns whole column blocks and packs its own part of B one KC step at a time;
 *       when C is tall, B is packed once per k super-block (sized to a fixed budget, so a long k does not need
 *       a huge buffer), in parallel, and shared by tasks that own whole row blocks.</li>
 *   <li>Per KC step, each B sliver (KC x NR, in L1) is reused by all row panels of the task's A (in L2), and
 *       the task's C block stays hot in L2 across k.</li>
 *   <li>The micro-kernel keeps an MR x NR tile of C in vector registers for the whole KC step: per k it loads
 *       two B vectors, broadcasts MR A scalars and issues 2*MR FMAs, so it is bound by FMA throughput rather
 *       than by memory.</li>
 * </ul>
 * Ragged edges are zero-padded, so one kernel handles every size; only the final write-back of an edge tile
 * goes through a small buffer. Each element of C sums its k range in the same order (KC steps in sequence)
 * however the tasks are cut and scheduled, so results do not depend on the thread count.
 *
 * <p>Not thread-safe: the shared packed B belongs to one call at a time (the backend issues one op at
 * a time).
 */
final class Gemm {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /**
     * Micro-tile: MR rows x (2 vectors) columns = 16 accumulators, leaving registers for operands. MR = 8 divides
     * the usual token counts (B*T), so wide products have no ragged panel.
     */
    static final int MR = 8;
    static final int NR = 2 * L;
    /**
     * k step of the micro-kernel: a B sliver (KC x NR floats) stays near L1 while A panels stream from L2. Each
     * step ends with a read-modify-write of the C block, so a longer step halves that traffic: with A read in
     * place, 256 measured ~3 % faster than 128 on book-124m's linear layers (it did not when A was packed).
     */
    static final int KC = 256;
    /** Largest task (rows when tall, columns when wide): its C block plus operands fit in L2. */
    private static final int MC = 18 * MR, NC = 4 * NR;
    /** Fewest tasks when the matrix allows it, so two threads stay balanced when one is slowed down. */
    private static final int MIN_TASKS = 12;
    /** Floats of the shared packed B per k super-block: bounds scratch memory and keeps it in the L3. */
    static final int PACK_BUDGET = 1 << 22;
    /** Slivers of the shared B packed per pack task: enough to amortise the hand-off. */
    private static final int SLIVERS_PER_PACK = 8;

    private final Parallel parallel;
    private final int packBudget;
    private final Scratch local = new Scratch(3);
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
        if (m <= n) {
            // Wide: tasks own column blocks and pack their own B; nothing is shared.
            int panels = Math.ceilDiv(n, NR);
            int tasks = Math.min(panels, Math.max(MIN_TASKS, Math.ceilDiv(panels, NC / NR)));
            int span = NR * Math.ceilDiv(panels, tasks);
            parallel.forEach(Math.ceilDiv(n, span), t ->
                    columns(t * span, Math.min(n, (t + 1) * span), m, k, a, b, c, cOff, ldc));
            return;
        }
        // Tall: B is packed once per k super-block and shared; tasks own row blocks.
        int slivers = Math.ceilDiv(n, NR), panels = Math.ceilDiv(m, MR);
        int tasks = Math.min(panels, Math.max(MIN_TASKS, Math.ceilDiv(panels, MC / MR)));
        int span = MR * Math.ceilDiv(panels, tasks), taskCount = Math.ceilDiv(m, span);
        int ks = Math.min(k, Math.max(KC, packBudget / (slivers * NR) / KC * KC));
        if (shared.length < slivers * NR * ks) shared = new float[slivers * NR * ks];
        int packTasks = Math.ceilDiv(slivers, SLIVERS_PER_PACK);
        for (int p0 = 0; p0 < k; p0 += ks) {
            int kc = Math.min(ks, k - p0), from = p0;
            parallel.forEach(packTasks, g -> {
                for (int s = g * SLIVERS_PER_PACK; s < Math.min(slivers, (g + 1) * SLIVERS_PER_PACK); s++) {
                    packB(b, from, kc, s * NR, Math.min(NR, n - s * NR), shared, s * NR * kc);
                }
            });
            parallel.forEach(taskCount, t ->
                    rows(t * span, Math.min(m, (t + 1) * span), n, from, kc, a, c, cOff, ldc));
        }
    }

    /** Wide task: C columns [j0,j1) of every row += A · B, B packed here per KC step, A read in place. */
    private void columns(int j0, int j1, int m, int k, View a, View b, float[] c, int cOff, int ldc) {
        float[] bp = local.get(0, KC * (j1 - j0 + NR)), edge = local.get(1, MR * NR), ragged = local.get(2, MR * KC);
        for (int p = 0; p < k; p += KC) {
            int kq = Math.min(KC, k - p);
            for (int j = j0; j < j1; j += NR) packB(b, p, kq, j, Math.min(NR, j1 - j), bp, (j - j0) * kq);
            if (m % MR != 0) packA(a, m - m % MR, m % MR, p, kq, ragged, 0);
            for (int j = j0; j < j1; j += NR) panels(0, m, p, kq, a, ragged, 0, bp, (j - j0) * kq, c, cOff + j, ldc,
                    Math.min(NR, j1 - j), edge);
        }
    }

    /** Tall task: C rows [i0,i1) of every column += A · shared packed B (depth kc from p0), A read in place. */
    private void rows(int i0, int i1, int n, int p0, int kc, View a, float[] c, int cOff, int ldc) {
        float[] edge = local.get(1, MR * NR), ragged = local.get(2, MR * KC);
        int tail = (i1 - i0) % MR;
        for (int q0 = 0; q0 < kc; q0 += KC) {
            int kq = Math.min(KC, kc - q0);
            if (tail != 0) packA(a, i1 - tail, tail, p0 + q0, kq, ragged, 0);
            for (int j = 0; j < n; j += NR) panels(i0, i1, p0 + q0, kq, a, ragged, 0, shared, j * kc + q0 * NR, c,
                    cOff + j, ldc, Math.min(NR, n - j), edge);
        }
    }

    /**
     * C rows [i0,i1) x one sliver's columns += A rows [i0,i1) x k [p,p+kq) · packed sliver at bp[bo]. Whole
     * MR-row panels of A are read in place through its strides (the kernel broadcasts one scalar at a time, so
     * a packed copy would only add a pass over A); a ragged last panel comes zero-padded from {@link #packA} at
     * {@code ragged[raggedOff]}.
     */
    static void panels(int i0, int i1, int p, int kq, View a, float[] ragged, int raggedOff, float[] bp, int bo,
                       float[] c, int cOff, int ldc, int cols, float[] edge) {
        int rs = a.rowStride(), cs = a.colStride();
        for (int i = i0; i < i1; i += MR) {
            int rows = Math.min(MR, i1 - i), co = cOff + i * ldc;
            if (rows == MR && cols == NR) kernel(kq, a.a(), a.offset() + i * rs + p * cs, rs, cs, bp, bo, c, co, ldc);
            else if (rows == MR) edgeTile(kq, a.a(), a.offset() + i * rs + p * cs, rs, cs, bp, bo, c, co, ldc, rows, cols, edge);
            else edgeTile(kq, ragged, raggedOff, 1, MR, bp, bo, c, co, ldc, rows, cols, edge);
        }
    }

    /** Rows [i,i+rows) x k [p0,p0+kc) of A as one MR-row panel at ap[dst]: element (r, kk) at kk*MR + r. */
    static void packA(View a, int i, int rows, int p0, int kc, float[] ap, int dst) {
        for (int kk = 0; kk < kc; kk++, dst += MR) {
            for (int r = 0; r < MR; r++) ap[dst + r] = r < rows ? a.get(i + r, p0 + kk) : 0f;
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
        // Sixteen named accumulators: arrays of vectors would not be kept in registers.
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        int r1 = ars, r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars, r6 = 6 * ars, r7 = 7 * ars;
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
            x = FloatVector.broadcast(S, a[ai + r6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ai + r7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
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
        o += ldc;
        FloatVector.fromArray(S, c, o).add(c60).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).add(c61).intoArray(c, o + L);
        o += ldc;
        FloatVector.fromArray(S, c, o).add(c70).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).add(c71).intoArray(c, o + L);
    }
}
