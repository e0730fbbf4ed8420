package io.jgpt.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The small serial products inside one attention head, without {@link Gemm}'s per-call packing and threads:
 * {@code C(m,n) += A(m,k) · B(k,n)} where A is read in place through its strides, as {@link Gemm} does, and B was
 * packed once per head by {@link #packRows} or {@link #packColumns} into NR-column slivers that every row block
 * of the head reuses (attention runs heads in parallel, each product on one thread).
 *
 * <p>Packed B layout, for depth {@code K} (the largest k any product will use): sliver s holds columns
 * [s*NR, (s+1)*NR), element (kk, jj) at {@code s*NR*K + kk*NR + jj}, zero past the last column. A product over k
 * rows [k0, k0+k) of B starts each sliver at {@code k0*NR}.
 *
 * <p>Each element of C sums its k terms in order in one register and is then added to C once, whatever the
 * tiling: results depend only on the operands.
 */
final class HeadGemm {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int MR = Gemm.MR;
    static final int NR = Gemm.NR;

    private HeadGemm() {}

    /** Floats a packed B with {@code cols} columns and depth {@code depth} needs. */
    static int packedSize(int depth, int cols) {
        return Math.ceilDiv(cols, NR) * NR * depth;
    }

    /**
     * Packs B(kk, j) = src[off + kk*rs + j] (rows contiguous), kk in [0, depth), j in [0, cols), into dst.
     */
    static void packRows(float[] src, int off, int rs, int depth, int cols, float[] dst) {
        for (int s = 0; s * NR < cols; s++) {
            int j0 = s * NR, w = Math.min(NR, cols - j0), d = s * NR * depth;
            if (w == NR) {
                for (int kk = 0, o = off + j0; kk < depth; kk++, o += rs, d += NR) {
                    FloatVector.fromArray(S, src, o).intoArray(dst, d);
                    FloatVector.fromArray(S, src, o + L).intoArray(dst, d + L);
                }
            } else {
                for (int kk = 0, o = off + j0; kk < depth; kk++, o += rs, d += NR) {
                    for (int jj = 0; jj < NR; jj++) dst[d + jj] = jj < w ? src[o + jj] : 0f;
                }
            }
        }
    }

    /**
     * Packs B(kk, j) = src[off + j*cs + kk] (columns contiguous: B is the transpose of a row-major matrix whose
     * rows are B's columns), kk in [0, depth), j in [0, cols), into dst.
     */
    static void packColumns(float[] src, int off, int cs, int depth, int cols, float[] dst) {
        int slivers = Math.ceilDiv(cols, NR);
        for (int s = 0; s < slivers; s++) {
            int d = s * NR * depth;
            for (int jj = 0; jj < NR; jj++) {
                int j = s * NR + jj;
                if (j < cols) {
                    for (int kk = 0, o = off + j * cs; kk < depth; kk++) dst[d + kk * NR + jj] = src[o + kk];
                } else {
                    for (int kk = 0; kk < depth; kk++) dst[d + kk * NR + jj] = 0f;
                }
            }
        }
    }

    /**
     * c[co + i*ldc + j] += sum over kk in [0,k) of a[ao + i*ars + kk*acs] * B(k0+kk, j), i in [0,m), j in [0,n),
     * B packed with depth {@code depth}. {@code edge} is scratch of at least MR*(NR + k) floats.
     */
    static void multiplyAdd(int m, int n, int k, float[] a, int ao, int ars, int acs, float[] bp, int depth, int k0,
                            float[] c, int co, int ldc, float[] edge) {
        if (m <= 0 || n <= 0 || k <= 0) return;
        View av = new View(a, ao, ars, acs);
        // Ragged rows: the missing rows of A are zeros in a copy kept after the edge tile's buffer.
        if (m % MR != 0) Gemm.packA(av, m - m % MR, m % MR, 0, k, edge, MR * NR);
        for (int j = 0; j < n; j += NR) {
            Gemm.panels(0, m, 0, k, av, edge, MR * NR, bp, (j / NR) * NR * depth + k0 * NR, c, co + j, ldc,
                    Math.min(NR, n - j), edge);
        }
    }
}
