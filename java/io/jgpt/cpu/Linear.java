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

    /** out(n,oc) = in(n,ic) · w(oc,ic)^T + bias: seed out with the bias (or 0), then accumulate; w at wo, bias at bo. */
    void forward(float[] out, float[] in, float[] w, int wo, float[] bias, int bo, int n, int ic, int oc) {
        parallel.forRange(n, 64, (from, to) -> {
            for (int row = from; row < to; row++) {
                if (bias == null) Arrays.fill(out, row * oc, (row + 1) * oc, 0f);
                else System.arraycopy(bias, bo, out, row * oc, oc);
            }
        });
        gemm.multiplyAdd(n, oc, ic, View.rowMajor(in, ic), new View(w, wo, ic, 1).transpose(), out, oc);
    }

    /**
     * din += dout · w; dw += dout^T · in; dbias += column sums of dout (din, dbias nullable). The parameter
     * arrays start at their offsets (wo, dwo, dbo): parameters are views into an arena.
     */
    void backward(float[] din, float[] dw, int dwo, float[] dbias, int dbo, float[] dout, float[] in, float[] w,
                  int wo, int n, int ic, int oc) {
        if (din != null) gemm.multiplyAdd(n, ic, oc, View.rowMajor(dout, oc), new View(w, wo, ic, 1), din, ic);
        gemm.multiplyAdd(oc, ic, n, View.rowMajor(dout, oc).transpose(), View.rowMajor(in, ic), dw, dwo, ic);
        if (dbias == null) return;
        // Split by columns so each bias entry has a single writer and a fixed summation order.
        parallel.forRange(oc, COLS_PER_TASK, (from, to) -> {
            for (int row = 0; row < n; row++) Simd.add(dout, row * oc + from, dbias, dbo + from, to - from);
        });
    }
}
