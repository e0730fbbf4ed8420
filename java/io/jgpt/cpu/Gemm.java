package io.jgpt.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Cache-blocked, register-tiled single-precision matrix multiply: {@code C(m,n) += A(m,k) · B(k,n)}, where A and
 * B are strided {@link View}s (so transposed operands cost nothing) and C is row-major.
 *
 * <p>Structure (the classic Goto/BLIS scheme, reduced to what a linear layer needs):
 * <ul>
 *   <li>The work is cut into tasks of MC rows x NC columns; each task walks k in blocks of KC.</li>
 *   <li>Per k block, the task packs its MC x KC slice of A into MR-row panels (interleaved by k, so the
 *       micro-kernel reads A sequentially) — this stays in L2.</li>
 *   <li>For every NR-wide column sliver it packs KC x NR of B contiguously — this stays in L1 and is reused by
 *       all MC/MR row panels.</li>
 *   <li>The micro-kernel keeps an MR x NR tile of C in vector registers for the whole k block: per k it loads
 *       two B vectors, broadcasts MR A scalars and issues 2*MR FMAs, so it is bound by FMA throughput rather
 *       than by memory.</li>
 * </ul>
 * Ragged edges are zero-padded when packing, so one kernel handles every size; only the final write-back of
 * an edge tile goes through a small buffer.
 */
final class Gemm {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Micro-tile: MR rows x (2 vectors) columns = 12 accumulators, leaving registers for operands. */
    static final int MR = 6;
    static final int NR = 2 * L;
    /** k block: a packed B sliver (KC x NR floats) fits in L1 next to the streamed A panel. */
    private static final int KC = 256;
    /** Rows per task: the packed A block (MC x KC floats) fits in L2. */
    private static final int MC = 24 * MR;
    /** Columns per task: enough slivers to amortise packing A, small enough to balance two-digit task counts. */
    private static final int NC = 8 * NR;

    private static final int PACKED_A = 0, PACKED_B = 1, EDGE = 2;

    private final Parallel parallel;
    private final Scratch scratch = new Scratch(3);

    Gemm(Parallel parallel) {
        this.parallel = parallel;
    }

    /** {@code c(m,n) += a(m,k) · b(k,n)}; c is row-major with row stride {@code ldc}. */
    void multiplyAdd(int m, int n, int k, View a, View b, float[] c, int ldc) {
        int mTasks = Math.ceilDiv(m, MC), nTasks = Math.ceilDiv(n, NC);
        parallel.forEach(mTasks * nTasks, task -> {
            int i0 = (task % mTasks) * MC, j0 = (task / mTasks) * NC;
            block(i0, Math.min(m, i0 + MC), j0, Math.min(n, j0 + NC), k, a, b, c, ldc);
        });
    }

    private void block(int i0, int i1, int j0, int j1, int k, View a, View b, float[] c, int ldc) {
        float[] ap = scratch.get(PACKED_A, MC * KC);
        float[] bp = scratch.get(PACKED_B, KC * NR);
        float[] edge = scratch.get(EDGE, NR);
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = Math.min(KC, k - p0);
            packA(a, i0, i1, p0, kc, ap);
            for (int j = j0; j < j1; j += NR) {
                int cols = Math.min(NR, j1 - j);
                packB(b, p0, kc, j, cols, bp);
                for (int i = i0; i < i1; i += MR) {
                    kernel(kc, ap, (i - i0) * kc, bp, c, i * ldc + j, ldc, Math.min(MR, i1 - i), cols, edge);
                }
            }
        }
    }

    /** Rows [i0,i1) x k [p0,p0+kc) of A as MR-row panels, element (r, kk) of a panel at kk*MR + r. */
    private static void packA(View a, int i0, int i1, int p0, int kc, float[] ap) {
        float[] src = a.a();
        int rs = a.rowStride(), cs = a.colStride();
        int dst = 0;
        for (int i = i0; i < i1; i += MR) {
            int rows = Math.min(MR, i1 - i);
            int base = a.offset() + i * rs + p0 * cs;
            for (int kk = 0; kk < kc; kk++, base += cs) {
                for (int r = 0; r < MR; r++) ap[dst++] = r < rows ? src[base + r * rs] : 0f;
            }
        }
    }

    /** k [p0,p0+kc) x columns [j,j+cols) of B, row kk at kk*NR, zero-padded to NR columns. */
    private static void packB(View b, int p0, int kc, int j, int cols, float[] bp) {
        float[] src = b.a();
        int rs = b.rowStride(), cs = b.colStride();
        int base = b.offset() + p0 * rs + j * cs;
        // Walk the source along whichever direction is contiguous; the destination is in L1 either way.
        if (cs == 1) {
            for (int kk = 0; kk < kc; kk++) {
                for (int jj = 0; jj < NR; jj++) bp[kk * NR + jj] = jj < cols ? src[base + kk * rs + jj] : 0f;
            }
        } else {
            for (int jj = 0; jj < NR; jj++) {
                for (int kk = 0; kk < kc; kk++) bp[kk * NR + jj] = jj < cols ? src[base + kk * rs + jj * cs] : 0f;
            }
        }
    }

    /** C[rows x cols tile at cOff] += packed A panel (MR x kc) · packed B sliver (kc x NR). */
    private static void kernel(int kc, float[] ap, int aOff, float[] bp, float[] c, int cOff, int ldc,
                               int rows, int cols, float[] edge) {
        // Twelve named accumulators: arrays of vectors would not be kept in registers.
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        for (int kk = 0, ai = aOff, bi = 0; kk < kc; kk++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        addRow(c00, c01, 0, c, cOff, ldc, rows, cols, edge);
        addRow(c10, c11, 1, c, cOff, ldc, rows, cols, edge);
        addRow(c20, c21, 2, c, cOff, ldc, rows, cols, edge);
        addRow(c30, c31, 3, c, cOff, ldc, rows, cols, edge);
        addRow(c40, c41, 4, c, cOff, ldc, rows, cols, edge);
        addRow(c50, c51, 5, c, cOff, ldc, rows, cols, edge);
    }

    /** Adds one accumulated tile row to C, skipping rows and columns that the padding invented. */
    private static void addRow(FloatVector v0, FloatVector v1, int r, float[] c, int cOff, int ldc, int rows,
                               int cols, float[] edge) {
        if (r >= rows) return;
        int o = cOff + r * ldc;
        if (cols == NR) {
            FloatVector.fromArray(S, c, o).add(v0).intoArray(c, o);
            FloatVector.fromArray(S, c, o + L).add(v1).intoArray(c, o + L);
        } else {
            v0.intoArray(edge, 0);
            v1.intoArray(edge, L);
            for (int j = 0; j < cols; j++) c[o + j] += edge[j];
        }
    }
}
