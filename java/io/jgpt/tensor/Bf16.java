package io.jgpt.tensor;

/**
 * bfloat16: the upper 16 bits of an IEEE float32 (sign, 8 exponent bits, 7 mantissa bits). Widening is exact;
 * narrowing rounds to nearest, ties to even, exactly as CUDA's {@code __float2bfloat16_rn} (the
 * {@code cvt.rn.bf16.f32} instruction on sm_80+): finite values that round past the largest bf16 become
 * infinities, subnormals are kept, and every NaN becomes the canonical quiet NaN {@code 0x7FFF} (sign
 * dropped). The CPU's bf16 storage mode uses these rules so that it rounds where and as the GPU does.
 */
public final class Bf16 {

    /** The NaN every NaN input narrows to. */
    public static final short CANONICAL_NAN = 0x7FFF;

    private Bf16() {}

    /** The bf16 bit pattern nearest to {@code f} (ties to even). */
    public static short fromFloat(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFF_FFFF) > 0x7F80_0000) return CANONICAL_NAN;
        // Adding 0x7FFF (+1 when the kept part is odd) carries into bit 16 exactly when the dropped half is
        // above one half ulp, or equal to it with an odd kept part; the carry may run into the exponent,
        // which is the right answer (the next binade, or infinity).
        int keptLsb = (x >>> 16) & 1;
        return (short) ((x + 0x7FFF + keptLsb) >>> 16);
    }

    /** The float a bf16 bit pattern stands for (exact). */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** {@code f} rounded to the nearest bf16 value, as a float. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }

    /** Rounds {@code a[from..to)} to bf16 values in place. */
    public static void round(float[] a, int from, int to) {
        for (int i = from; i < to; i++) a[i] = round(a[i]);
    }

    /** Rounds every element of {@code a} in place. */
    public static void round(float[] a) {
        round(a, 0, a.length);
    }
}
