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

    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** Adding and subtracting 1.5 * 2^23 rounds a float of magnitude below 2^22 to the nearest integer. */
    private static final float ROUND = 12582912f;

    /**
     * e^x to about 1 ulp (Cephes' expf: x = n ln2 + r, a degree-7 polynomial for e^r, then scale by 2^n),
     * clamped to the normal float range. Written with plain lane arithmetic because {@code lanewise(EXP)}
     * is computed differently by the interpreter and by the JIT, which breaks bit-identical reruns.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87.3f).min(88.3f);
        FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = x.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
        FloatVector p = r.mul(1.9875691500e-4f).add(1.3981999507e-3f).mul(r).add(8.3334519073e-3f).mul(r)
                .add(4.1665795894e-2f).mul(r).add(1.6666665459e-1f).mul(r).add(5.0000001201e-1f);
        p = p.mul(r.mul(r)).add(r).add(1f);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /** tanh(x) = 1 - 2 / (e^{2x} + 1), deterministic like {@link #exp}; saturates to +-1. */
    static FloatVector tanh(FloatVector x) {
        return FloatVector.broadcast(x.species(), 2f).div(exp(x.add(x)).add(1f)).neg().add(1f);
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
