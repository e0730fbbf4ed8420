package io.jgpt.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Hand-worked cases of round-to-nearest-even narrowing; the bit-for-bit comparison with CUDA is Bf16HostOracleTest. */
class Bf16Test {

    private static short narrow(int floatBits) {
        return Bf16.fromFloat(Float.intBitsToFloat(floatBits));
    }

    @Test
    void roundsToNearestWithTiesToEven() {
        assertEquals((short) 0x3F80, narrow(0x3F80_0000)); // 1.0 exact
        assertEquals((short) 0x3F80, narrow(0x3F80_7FFF)); // below half an ulp: down
        assertEquals((short) 0x3F80, narrow(0x3F80_8000)); // tie, even kept part: stays
        assertEquals((short) 0x3F81, narrow(0x3F80_8001)); // above half: up
        assertEquals((short) 0x3F82, narrow(0x3F81_8000)); // tie, odd kept part: up to even
        assertEquals((short) 0xBF82, narrow(0xBF81_8000)); // the same for negatives (magnitude rounds)
        assertEquals((short) 0x4000, narrow(0x3FFF_C000)); // carry into the exponent: 1.99... -> 2.0
    }

    @Test
    void overflowSignedZerosSubnormalsAndNaNs() {
        assertEquals((short) 0x7F7F, narrow(0x7F7F_7FFF)); // largest bf16 stays finite
        assertEquals((short) 0x7F80, narrow(0x7F7F_8000)); // tie above the largest bf16: infinity
        assertEquals((short) 0xFF80, narrow(0xFF7F_FFFF)); // the largest float: -infinity
        assertEquals((short) 0x7F80, narrow(0x7F80_0000)); // infinities stay
        assertEquals((short) 0x8000, narrow(0x8000_0000)); // -0 keeps its sign
        assertEquals((short) 0x0000, narrow(0x0000_8000)); // the smallest-ulp tie rounds to even zero
        assertEquals((short) 0x0001, narrow(0x0000_8001)); // subnormals are kept, not flushed
        assertEquals(Bf16.CANONICAL_NAN, narrow(0x7FC0_0000)); // quiet NaN
        assertEquals(Bf16.CANONICAL_NAN, narrow(0xFF80_0001)); // negative signalling NaN: sign dropped
        assertEquals(Bf16.CANONICAL_NAN, narrow(0x7F80_0001)); // NaN payload only in the dropped bits
    }

    @Test
    void everyBf16ValueWidensExactlyAndNarrowsBack() {
        for (int code = 0; code < 1 << 16; code++) {
            int b = code;
            short bits = (short) b;
            float f = Bf16.toFloat(bits);
            assertEquals(b << 16, Float.floatToRawIntBits(f));
            short expected = Float.isNaN(f) ? Bf16.CANONICAL_NAN : bits;
            assertEquals(expected, Bf16.fromFloat(f), () -> "bf16 " + Integer.toHexString(b));
        }
    }

    @Test
    void roundInPlace() {
        float[] a = {1f, Float.intBitsToFloat(0x3F81_8000), Float.NaN};
        Bf16.round(a);
        assertEquals(1f, a[0]);
        assertEquals(Float.intBitsToFloat(0x3F82_0000), a[1]);
        assertEquals(0x7FFF_0000, Float.floatToRawIntBits(a[2]));
    }
}
