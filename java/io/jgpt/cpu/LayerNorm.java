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
                RowSums sums = rowSums(dout, w, wo, in, mu, rs, o, c);
                addInputGradient(din, dout, w, wo, in, mu, rs, sums.g() / c, sums.gXhat() / c, o, c);
            }
        });
        // Each vector of columns keeps its two sums in registers over all rows (starting from dw and db, so
        // the additions happen in the same order as adding row by row into memory).
        parallel.forRange(c, COLS_PER_TASK, (from, to) -> {
            for (int i = from; i < to; i += S.length()) {
                VectorMask<Float> m = S.indexInRange(i, to);
                FloatVector w1 = FloatVector.fromArray(S, dw, dwo + i, m), b1 = FloatVector.fromArray(S, db, dbo + i, m);
                for (int row = 0, o = i; row < n; row++, o += c) {
                    FloatVector d = FloatVector.fromArray(S, dout, o, m);
                    w1 = d.mul(FloatVector.fromArray(S, in, o, m).sub(mean[row])).mul(rstd[row]).add(w1);
                    b1 = d.add(b1);
                }
                w1.intoArray(dw, dwo + i, m);
                b1.intoArray(db, dbo + i, m);
            }
        });
    }

    // The row pass is two small methods rather than one lambda holding both loops: C1 ran out of registers
    // compiling that lambda ("COMPILE SKIPPED: out of virtual registers"), which left it, in some runs, in C1's
    // unprofiled tier, where vector operations are not intrinsics (2-4 ms per call at 512 x 256 instead of
    // 0.1-0.3). Each loop: whole vectors, then a masked tail (masked lanes load 0 and add nothing).

    /** The sums over one row of g = dout * w and of g * xhat. */
    private record RowSums(float g, float gXhat) {}

    /** {@link RowSums} of one row, xhat = (in - mu) * rs. */
    private static RowSums rowSums(float[] dout, float[] w, int wo, float[] in, float mu, float rs, int o, int c) {
        FloatVector gSum = FloatVector.zero(S), gxSum = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(c); i < bound; i += S.length()) {
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
        return new RowSums(Simd.sumLanes(gSum), Simd.sumLanes(gxSum));
    }

    /** din += rs * (g - gMean - xhat * gxMean) over one row. */
    private static void addInputGradient(float[] din, float[] dout, float[] w, int wo, float[] in, float mu, float rs,
                                         float gMean, float gxMean, int o, int c) {
        int i = 0;
        for (int bound = S.loopBound(c); i < bound; i += S.length()) {
            FloatVector xhat = FloatVector.fromArray(S, in, o + i).sub(mu).mul(rs);
            FloatVector g = FloatVector.fromArray(S, dout, o + i).mul(FloatVector.fromArray(S, w, wo + i));
            g.sub(gMean).sub(xhat.mul(gxMean)).mul(rs).add(FloatVector.fromArray(S, din, o + i)).intoArray(din, o + i);
        }
        if (i < c) {
            VectorMask<Float> m = S.indexInRange(i, c);
            FloatVector xhat = FloatVector.fromArray(S, in, o + i, m).sub(mu).mul(rs);
            FloatVector g = FloatVector.fromArray(S, dout, o + i, m).mul(FloatVector.fromArray(S, w, wo + i, m));
            g.sub(gMean).sub(xhat.mul(gxMean)).mul(rs).add(FloatVector.fromArray(S, din, o + i, m))
                    .intoArray(din, o + i, m);
        }
    }
}
