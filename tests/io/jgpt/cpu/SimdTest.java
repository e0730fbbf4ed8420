package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The hand-written exp and tanh against java.lang.Math, across and beyond the float range they clamp to. */
class SimdTest {

    @Test
    void expIsWithinAFewUlpsAndSaturates() {
        for (float x = -87f; x <= 88f; x += 0.0137f) {
            double want = Math.exp(x);
            assertEquals(want, lane0(Simd.exp(FloatVector.broadcast(Simd.S, x))), 3 * Math.ulp((float) want), "exp(" + x + ")");
        }
        assertEquals(0f, lane0(Simd.exp(FloatVector.broadcast(Simd.S, -1000f))), 1e-37f);
        float big = lane0(Simd.exp(FloatVector.broadcast(Simd.S, 1000f)));
        assertEquals(true, big > 1e38f && Float.isFinite(big), "exp(1000) clamps to the largest power of two, got " + big);
    }

    @Test
    void tanhMatchesAndSaturatesToPlusMinusOne() {
        for (float x = -20f; x <= 20f; x += 0.00731f) {
            assertEquals(Math.tanh(x), lane0(Simd.tanh(FloatVector.broadcast(Simd.S, x))), 3e-7, "tanh(" + x + ")");
        }
        assertEquals(1f, lane0(Simd.tanh(FloatVector.broadcast(Simd.S, 500f))));
        assertEquals(-1f, lane0(Simd.tanh(FloatVector.broadcast(Simd.S, -500f))));
    }

    private static float lane0(FloatVector v) {
        return v.lane(0);
    }
}
