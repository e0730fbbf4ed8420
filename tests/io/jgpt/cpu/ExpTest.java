package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class ExpTest {

    @Test
    void expIsWithinThreeTenthsOfAMillionthOfTheLibrary() {
        Random r = new Random(3);
        float[] xs = new float[4096];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) (r.nextDouble() * 175 - 87);
        xs[0] = 0f;
        xs[1] = -0f;
        xs[2] = 88f;
        xs[3] = -87.3f;
        float[] vec = new float[xs.length];
        for (int i = 0; i < xs.length; i += Simd.S.length()) Exp.exp(FloatVector.fromArray(Simd.S, xs, i)).intoArray(vec, i);
        for (int i = 0; i < xs.length; i++) {
            double want = Math.exp(xs[i]);
            if (want < Float.MIN_NORMAL) continue;
            assertTrue(Math.abs(Exp.exp(xs[i]) - want) <= 3e-7 * want, "exp(" + xs[i] + ") = " + Exp.exp(xs[i]) + ", want " + want);
            assertEquals(Exp.exp(xs[i]), vec[i], "vector and scalar paths agree bit for bit at " + xs[i]);
        }
    }

    @Test
    void maskedScoresBecomeExactZeros() {
        assertEquals(0f, Exp.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, Exp.exp(-100f));
        float[] minus = new float[Simd.S.length()];
        java.util.Arrays.fill(minus, Float.NEGATIVE_INFINITY);
        assertEquals(0f, Exp.exp(FloatVector.fromArray(Simd.S, minus, 0)).reduceLanes(jdk.incubator.vector.VectorOperators.ADD));
    }

    @Test
    void tanhIsAccurateAndOdd() {
        Random r = new Random(4);
        float[] xs = new float[Simd.S.length() * 64];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) (r.nextGaussian() * 4);
        for (int i = 0; i < xs.length; i += Simd.S.length()) {
            float[] t = Exp.tanh(FloatVector.fromArray(Simd.S, xs, i)).toArray();
            for (int k = 0; k < t.length; k++) {
                assertEquals(Math.tanh(xs[i + k]), t[k], 3e-7, "tanh(" + xs[i + k] + ")");
            }
        }
    }
}
