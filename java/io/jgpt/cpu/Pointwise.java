package io.jgpt.cpu;

import io.jgpt.ops.Dropout;
import java.util.Arrays;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise kernels on whole arrays, each split into fixed-size pieces for the pool. Loops use masked
 * vectors for the tail so every element goes through the same arithmetic (no scalar twin).
 */
final class Pointwise {

    private static final VectorSpecies<Float> S = Simd.S;
    /** Doubles, and the floats that widen into them lane for lane. */
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> DF = S.withShape(VectorShape.forBitSize(D.vectorBitSize() / 2));
    /** Floats as wide as the dropout hash's long lanes. */
    private static final VectorSpecies<Float> DROP = DropoutLanes.F;
    /** Elements per task: large enough to amortise scheduling, small enough to balance. */
    private static final int GRAIN = 1 << 15;
    /** Elements per fill task, see {@link #fill}. */
    private static final int FILL_GRAIN = 1 << 22;
    private static final float GELU_C = (float) Math.sqrt(2.0 / Math.PI);
    private static final float GELU_A = 0.044715f;

    private final Parallel parallel;

    Pointwise(Parallel parallel) {
        this.parallel = parallel;
    }

    void geluForward(float[] out, float[] in) {
        parallel.forRange(in.length, GRAIN, (from, to) -> {
            for (int i = from; i < to; i += S.length()) {
                VectorMask<Float> m = S.indexInRange(i, to);
                FloatVector x = FloatVector.fromArray(S, in, i, m);
                FloatVector th = Exp.tanh(x.mul(x).mul(x).mul(GELU_A).add(x).mul(GELU_C));
                x.mul(0.5f).mul(th.add(1f)).intoArray(out, i, m);
            }
        });
    }

    /** din += dout * gelu'(in). */
    void geluBackward(float[] din, float[] dout, float[] in) {
        parallel.forRange(in.length, GRAIN, (from, to) -> {
            for (int i = from; i < to; i += S.length()) {
                VectorMask<Float> m = S.indexInRange(i, to);
                FloatVector grad = geluGrad(FloatVector.fromArray(S, in, i, m));
                FloatVector.fromArray(S, dout, i, m).fma(grad, FloatVector.fromArray(S, din, i, m)).intoArray(din, i, m);
            }
        });
    }

    /**
     * d *= gelu'(pre): the GELU's backward written over its incoming gradient. The same products as geluBackward
     * into zeros (a fused multiply-add with 0 rounds like the multiplication).
     */
    void geluGradScale(float[] d, float[] pre) {
        parallel.forRange(pre.length, GRAIN, (from, to) -> {
            for (int i = from; i < to; i += S.length()) {
                VectorMask<Float> m = S.indexInRange(i, to);
                FloatVector grad = geluGrad(FloatVector.fromArray(S, pre, i, m));
                FloatVector.fromArray(S, d, i, m).mul(grad).intoArray(d, i, m);
            }
        });
    }

    /** d/dx [0.5x(1+tanh u)] = 0.5(1+tanh u) + 0.5x(1-tanh^2 u) u', u' = c(1 + 3a x^2). */
    private static FloatVector geluGrad(FloatVector x) {
        FloatVector x2 = x.mul(x);
        FloatVector th = Exp.tanh(x2.mul(GELU_A).add(1f).mul(x).mul(GELU_C));
        FloatVector du = x2.mul(3f * GELU_A).add(1f).mul(GELU_C);
        FloatVector sech2 = th.mul(th).neg().add(1f);
        return th.add(1f).mul(0.5f).add(x.mul(0.5f).mul(sech2).mul(du));
    }

    /**
     * Every element set to value. Only large arrays are split: a fill is so cheap per element that the
     * hand-off to the workers (tens of microseconds) outweighs a second core below about 16 MB.
     */
    void fill(float[] t, int off, int n, float value) {
        parallel.forRange(n, FILL_GRAIN, (from, to) -> Arrays.fill(t, off + from, off + to, value));
    }

    void add(float[] out, float[] a, float[] b) {
        parallel.forRange(out.length, GRAIN, (from, to) -> {
            for (int i = from; i < to; i += S.length()) {
                VectorMask<Float> m = S.indexInRange(i, to);
                FloatVector.fromArray(S, a, i, m).add(FloatVector.fromArray(S, b, i, m)).intoArray(out, i, m);
            }
        });
    }

    /** out = in * scale where kept, else 0 (a copy when inactive). */
    void dropoutForward(float[] out, float[] in, Dropout dropout) {
        if (!dropout.active()) {
            System.arraycopy(in, 0, out, 0, in.length);
            return;
        }
        float scale = dropout.scale();
        parallel.forRange(in.length, GRAIN, (from, to) -> {
            for (int i = from; i < to; i += DROP.length()) {
                VectorMask<Float> m = DROP.indexInRange(i, to);
                FloatVector.fromArray(DROP, in, i, m).mul(scale).blend(0f, DropoutLanes.keep(dropout, i).not())
                        .intoArray(out, i, m);
            }
        });
    }

    /** din += dout * scale where kept; dropped elements are left untouched. */
    void dropoutBackward(float[] din, float[] dout, Dropout dropout) {
        if (!dropout.active()) {
            add(din, din, dout);
            return;
        }
        float scale = dropout.scale();
        parallel.forRange(din.length, GRAIN, (from, to) -> {
            for (int i = from; i < to; i += DROP.length()) {
                VectorMask<Float> m = DROP.indexInRange(i, to);
                FloatVector.fromArray(DROP, din, i, m)
                        .add(FloatVector.fromArray(DROP, dout, i, m).mul(scale), DropoutLanes.keep(dropout, i))
                        .intoArray(din, i, m);
            }
        });
    }

    /**
     * Sum of squares in double (a float's square is exact in double, so only the additions round). Each piece
     * sums in fixed lanes, then lane order; partials are added in piece order, so the result is deterministic.
     */
    double sumOfSquares(float[] t, int off, int n) {
        double[] partial = new double[Math.ceilDiv(n, GRAIN)];
        parallel.forRange(n, GRAIN, (from, to) -> partial[from / GRAIN] = sumOfSquaresRange(t, off + from, off + to));
        double total = 0;
        for (double s : partial) total += s;
        return total;
    }

    /** Sum of squares of t[from, to) on the calling thread, in fixed lanes, then lane order. */
    static double sumOfSquaresRange(float[] t, int from, int to) {
        // Two accumulators hide the add latency; the loop is then bound by memory bandwidth.
        DoubleVector s0 = DoubleVector.zero(D), s1 = DoubleVector.zero(D);
        int i = from, step = 2 * DF.length();
        for (; i + step <= to; i += step) {
            DoubleVector x0 = widen(FloatVector.fromArray(DF, t, i));
            DoubleVector x1 = widen(FloatVector.fromArray(DF, t, i + DF.length()));
            s0 = x0.fma(x0, s0);
            s1 = x1.fma(x1, s1);
        }
        for (; i < to; i += DF.length()) {
            DoubleVector x = widen(FloatVector.fromArray(DF, t, i, DF.indexInRange(i, to)));
            s0 = x.fma(x, s0);
        }
        return sumLanes(s0.add(s1));
    }

    private static DoubleVector widen(FloatVector x) {
        return (DoubleVector) x.convertShape(VectorOperators.F2D, D, 0);
    }

    /** Lanes added in lane order: {@code reduceLanes} leaves the order open (see {@link Simd#sumLanes}). */
    private static double sumLanes(DoubleVector v) {
        double s = v.lane(0);
        for (int i = 1; i < v.length(); i++) s += v.lane(i);
        return s;
    }
}
