package io.jgpt.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * exp and tanh from plain IEEE arithmetic (adds, multiplies, bit shifts), so they give the same bits in the
 * interpreter, in JIT-compiled code and in every vector lane. {@code Math.exp} and the Vector API's
 * {@code EXP}/{@code TANH} may use different implementations before and after compilation, which breaks
 * "same seed, same losses" (a resumed run would drift by an ulp). Relative error is below 3e-7.
 *
 * <p>exp(x) = 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln(2)/2; e^r by Cephes' expf polynomial
 * (1 + r + r² P(r), P of degree 5), accurate to about an ulp.
 */
final class Exp {
    private Exp() {}

    private static final float LOG2E = 1.44269504f;
    private static final float LN2_HI = 0.693359375f;      // exact in few bits: n * LN2_HI is exact
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f;           // 1.5 * 2^23: adding it rounds to an integer
    private static final float MIN = -87.33654f;           // below this e^x is under the smallest normal float
    private static final float MAX = 88f;                  // keeps 2^n a normal float (n <= 127); callers pass x <= 0

    static float exp(float x) {
        if (x < MIN) return 0f; // also turns -infinity (a masked score) into an exact 0
        float c = Math.min(x, MAX);
        float shifted = c * LOG2E + ROUND;
        float n = shifted - ROUND;
        float r = c - n * LN2_HI - n * LN2_LO;
        float p = poly(r);
        int bits = (Float.floatToRawIntBits(shifted) - Float.floatToRawIntBits(ROUND) + 127) << 23;
        return p * Float.intBitsToFloat(bits);
    }

    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    private static float poly(float r) {
        return ((((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5) * (r * r) + r) + 1f;
    }

    static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(MIN).min(MAX);
        FloatVector shifted = c.mul(LOG2E).add(ROUND);
        FloatVector n = shifted.sub(ROUND);
        FloatVector r = c.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
        FloatVector p = r.mul(P0).add(P1).mul(r).add(P2).mul(r).add(P3).mul(r).add(P4).mul(r).add(P5)
                .mul(r.mul(r)).add(r).add(1f);
        IntVector bits = shifted.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND)).add(127)
                .lanewise(VectorOperators.LSHL, 23);
        FloatVector scaled = p.mul(bits.reinterpretAsFloats());
        return scaled.blend(0f, x.compare(VectorOperators.LT, MIN));
    }

    /** tanh(x) = sign(x) (1 - 2 / (e^{2|x|} + 1)), which neither overflows nor loses the sign. */
    static FloatVector tanh(FloatVector x) {
        FloatVector e = exp(x.abs().mul(2f));
        FloatVector t = FloatVector.broadcast(x.species(), 1f).sub(FloatVector.broadcast(x.species(), 2f).div(e.add(1f)));
        return t.blend(t.neg(), x.compare(VectorOperators.LT, 0f));
    }
}
