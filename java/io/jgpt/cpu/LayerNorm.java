package io.jgpt.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/** LayerNorm over rows of length C (eps 1e-5, biased variance), parallel over rows. */
final class LayerNorm {

    static final float EPS = 1e-5f;
    private static final VectorSpecies<Float> S = Simd.S;
    private static final int ROWS_PER_TASK = 16;
    /** Columns per task in the parameter-gradient pass (a multiple of any vector length). */
    private static final int COLS_PER_TASK = 64;

    private final Parallel parallel;

    LayerNorm(Parallel parallel) {
        this.parallel = parallel;
    }

    /** Parameters are views into an arena: w starts at wo, b at bo. */
    void forward(float[] out, float[] mean, float[] rstd, float[] in, float[] w, int wo, float[] b, int bo, int n,
                 int c) {
        parallel.forRange(n, ROWS_PER_TASK, (from, to) -> {
            for (int row = from; row < to; row++) normalizeRow(out, mean, rstd, in, w, wo, b, bo, row, c);
        });
    }

    /**
     * sum = x + branch, then out = the LayerNorm of sum, row by row: each row of sum is normalised while it is
     * still in cache. The same additions and the same row arithmetic as Pointwise.add followed by {@link #forward}.
     */
    void forwardResidual(float[] sum, float[] out, float[] mean, float[] rstd, float[] x, float[] branch, float[] w,
                         int wo, float[] b, int bo, int n, int c) {
        parallel.forRange(n, ROWS_PER_TASK, (from, to) -> {
            for (int row = from; row < to; row++) {
                Simd.sumInto(x, branch, sum, row * c, c);
                normalizeRow(out, mean, rstd, sum, w, wo, b, bo, row, c);
            }
        });
    }

    private static void normalizeRow(float[] out, float[] mean, float[] rstd, float[] in, float[] w, int wo,
                                     float[] b, int bo, int row, int c) {
        int o = row * c;
        float mu = Simd.sum(in, o, c) / c;
        // Two passes (mean, then squared deviations) avoid the cancellation of E[x^2] - E[x]^2.
        float var = 0;
        int i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int bound = S.loopBound(c); i < bound; i += S.length()) {
            FloatVector d = FloatVector.fromArray(S, in, o + i).sub(mu);
            acc = d.fma(d, acc);
        }
        var = Simd.sumLanes(acc);
        for (; i < c; i++) var += (in[o + i] - mu) * (in[o + i] - mu);
        float rs = (float) (1.0 / Math.sqrt(var / c + EPS));
        mean[row] = mu;
        rstd[row] = rs;
        i = 0;
        for (int bound = S.loopBound(c); i < bound; i += S.length()) {
            FloatVector.fromArray(S, in, o + i).sub(mu).mul(rs)
                    .fma(FloatVector.fromArray(S, w, wo + i), FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i);
        }
        for (; i < c; i++) out[o + i] = (in[o + i] - mu) * rs * w[wo + i] + b[bo + i];
    }

    /**
     * din += rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dout * w; dweight += sum dout * xhat;
     * dbias += sum dout. The parameter sums run as a second pass split by columns, so threads never share an
     * accumulator and the summation order is fixed.
     */
    void backward(float[] din, float[] dw, int dwo, float[] db, int dbo, float[] dout, float[] in, float[] w, int wo,
                  float[] mean, float[] rstd, int n, int c) {
        parallel.forRange(n, ROWS_PER_TASK, (from, to) -> {
            for (int row = from; row < to; row++) {
                int o = row * c;
                float mu = mean[row], rs = rstd[row];
                // Masked tail lanes load 0, so g = 0 there and they add nothing to either sum.
                FloatVector gSum = FloatVector.zero(S), gxSum = FloatVector.zero(S);
                // Unmasked main loops and a masked tail (whole vectors compile to tighter code).
                int i = 0, bound = S.loopBound(c);
                for (; i < bound; i += S.length()) {
                    FloatVector g = FloatVector.fromArray(S, dout, o + i).mul(FloatVector.fromArray(S, w, wo + i));
                    gSum = gSum.add(g);
                    gxSum = g.mul(FloatVector.fromArray(S, in, o + i).sub(mu)).mul(rs).add(gxSum);
                }
                if (i < c) {
                    VectorMask<Float> m = S.indexInRange(i, c);
                    FloatVector g = FloatVector.fromArray(S, dout, o + i, m).mul(FloatVector.fromArray(S, w, wo + i, m));
                    gSum = gSum.add(g);
                    gxSum = g.mul(FloatVector.fromArray(S, in, o + i, m).sub(mu)).mul(rs).add(gxSum);
                }
                float gMean = Simd.sumLanes(gSum) / c, gxMean = Simd.sumLanes(gxSum) / c;
                for (i = 0; i < bound; i += S.length()) {
                    FloatVector xhat = FloatVector.fromArray(S, in, o + i).sub(mu).mul(rs);
                    FloatVector g = FloatVector.fromArray(S, dout, o + i).mul(FloatVector.fromArray(S, w, wo + i));
                    g.sub(gMean).sub(xhat.mul(gxMean)).mul(rs).add(FloatVector.fromArray(S, din, o + i))
                            .intoArray(din, o + i);
                }
                if (i < c) {
                    VectorMask<Float> m = S.indexInRange(i, c);
                    FloatVector xhat = FloatVector.fromArray(S, in, o + i, m).sub(mu).mul(rs);
                    FloatVector g = FloatVector.fromArray(S, dout, o + i, m).mul(FloatVector.fromArray(S, w, wo + i, m));
                    g.sub(gMean).sub(xhat.mul(gxMean)).mul(rs).add(FloatVector.fromArray(S, din, o + i, m))
                            .intoArray(din, o + i, m);
                }
            }
        });
        // Each task owns a slice of columns and adds row after row into it, in row order (so the sums do not
        // depend on the thread count). Rows outer, the slice's vectors inner: each row's part of dout and in is
        // read once, contiguously. Walking all rows per vector instead re-read every cache line a vector
        // straddles after n rows, which thrashed L2 whenever dout and in sat a multiple of its set stride apart
        // (as back-to-back allocated activation records do): 8x slower for the same arithmetic.
        parallel.forRange(c, COLS_PER_TASK, (from, to) -> {
            for (int row = 0; row < n; row++) {
                int o = row * c;
                float mu = mean[row], rs = rstd[row];
                for (int i = from; i < to; i += S.length()) {
                    VectorMask<Float> m = S.indexInRange(i, to);
                    FloatVector d = FloatVector.fromArray(S, dout, o + i, m);
                    d.mul(FloatVector.fromArray(S, in, o + i, m).sub(mu)).mul(rs)
                            .add(FloatVector.fromArray(S, dw, dwo + i, m)).intoArray(dw, dwo + i, m);
                    d.add(FloatVector.fromArray(S, db, dbo + i, m)).intoArray(db, dbo + i, m);
                }
            }
        });
    }
}
