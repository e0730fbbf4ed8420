package io.jgpt.cpu;

import java.util.Arrays;

/** The three products of a linear layer, all expressed as one {@link Gemm} over strided views. */
final class Linear {

    private static final int COLS_PER_TASK = 256;

    private final Parallel parallel;
    private final Gemm gemm;

    Linear(Parallel parallel) {
        this.parallel = parallel;
        this.gemm = new Gemm(parallel);
    }

    /**
     * out(n,oc) = in(n,ic) · w(oc,ic)^T + bias: seed out with the bias (or 0), then accumulate. Every operand starts
     * at its offset (oo, io, wo, bo): parameters are views into an arena, chunks of rows views of activations.
     */
    void forward(float[] out, int oo, float[] in, int io, float[] w, int wo, float[] bias, int bo, int n, int ic,
                 int oc) {
        parallel.forRange(n, 64, (from, to) -> {
            for (int row = from; row < to; row++) {
                if (bias == null) Arrays.fill(out, oo + row * oc, oo + (row + 1) * oc, 0f);
                else System.arraycopy(bias, bo, out, oo + row * oc, oc);
            }
        });
        gemm.multiplyAdd(n, oc, ic, new View(in, io, ic, 1), new View(w, wo, ic, 1).transpose(), out, oo, oc);
    }

    /**
     * din += dout · w; dw += dout^T · in; dbias += column sums of dout (din, dbias nullable), every operand from its
     * offset as in {@link #forward}.
     */
    void backward(float[] din, int dio, float[] dw, int dwo, float[] dbias, int dbo, float[] dout, int doo,
                  float[] in, int io, float[] w, int wo, int n, int ic, int oc) {
        if (din != null) inputGradient(din, dio, dout, doo, w, wo, n, ic, oc);
        gemm.multiplyAdd(oc, ic, n, new View(dout, doo, oc, 1).transpose(), new View(in, io, ic, 1), dw, dwo, ic);
        if (dbias != null) columnSums(dbias, dbo, dout, doo, n, oc);
    }

    /** din(n,ic) += dout(n,oc) · w(oc,ic), from offsets dio, doo, wo. */
    void inputGradient(float[] din, int dio, float[] dout, int doo, float[] w, int wo, int n, int ic, int oc) {
        gemm.multiplyAdd(n, ic, oc, new View(dout, doo, oc, 1), new View(w, wo, ic, 1), din, dio, ic);
    }

    /** sums[so + j] += the sum over rows of g(n,c)[., j] (a bias gradient), g from offset go. */
    void columnSums(float[] sums, int so, float[] g, int go, int n, int c) {
        // Split by columns so each bias entry has a single writer and a fixed summation order.
        parallel.forRange(c, COLS_PER_TASK, (from, to) -> {
            for (int row = 0; row < n; row++) Simd.add(g, go + row * c + from, sums, so + from, to - from);
        });
    }
}
