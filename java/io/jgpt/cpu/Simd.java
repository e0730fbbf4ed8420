package io.jgpt.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vectorised building blocks on array slices (full vectors, then a scalar tail). */
final class Simd {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Simd() {}

    /**
     * The lanes of v added in lane order. {@code reduceLanes(ADD)} leaves the order unspecified, and the JIT's
     * intrinsic does use a different order than the interpreter, so a warmed-up run would not reproduce a
     * cold one bit for bit.
     */
    static float sumLanes(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1; i < v.length(); i++) s += v.lane(i);
        return s;
    }

    /** sum_i x[xo+i] * y[yo+i]. */
    static float dot(float[] x, int xo, float[] y, int yo, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            acc = FloatVector.fromArray(S, x, xo + i).fma(FloatVector.fromArray(S, y, yo + i), acc);
        }
        float s = sumLanes(acc);
        for (; i < n; i++) s += x[xo + i] * y[yo + i];
        return s;
    }

    /** y[yo+i] += alpha * x[xo+i]. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector va = FloatVector.broadcast(S, alpha);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += alpha * x[xo + i];
    }

    /** y[yo+i] += x[xo+i]. */
    static void add(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xo + i).add(FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += x[xo + i];
    }

    /** out[o+i] = a[o+i] + b[o+i] (out may be a or b). */
    static void sumInto(float[] a, float[] b, float[] out, int o, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, a, o + i).add(FloatVector.fromArray(S, b, o + i)).intoArray(out, o + i);
        }
        for (; i < n; i++) out[o + i] = a[o + i] + b[o + i];
    }

    /** x[xo+i] *= factor. */
    static void scale(float[] x, int xo, int n, float factor) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xo + i).mul(factor).intoArray(x, xo + i);
        }
        for (; i < n; i++) x[xo + i] *= factor;
    }

    /** sum_i x[xo+i]. */
    static float sum(float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) acc = acc.add(FloatVector.fromArray(S, x, xo + i));
        float s = sumLanes(acc);
        for (; i < n; i++) s += x[xo + i];
        return s;
    }

    /** max_i x[xo+i]. */
    static float max(float[] x, int xo, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) acc = acc.max(FloatVector.fromArray(S, x, xo + i));
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) m = Math.max(m, x[xo + i]);
        return m;
    }
}
