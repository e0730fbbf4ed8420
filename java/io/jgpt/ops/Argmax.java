package io.jgpt.ops;

/**
 * Greedy decoding's choice, the one rule every backend follows: the index of the largest value, the lowest
 * index among equals, NaN counting as negative infinity (so a NaN never wins and a row of NaNs gives 0).
 * The CUDA kernel {@code argmax_rows} mirrors it; {@code CudaParityTest} checks they agree.
 */
public final class Argmax {
    private Argmax() {}

    /** The chosen index within a[from, from + length), counted from {@code from}; length >= 1. */
    public static int of(float[] a, int from, int length) {
        int best = 0;
        float bestValue = orNegativeInfinity(a[from]);
        for (int i = 1; i < length; i++) {
            float v = orNegativeInfinity(a[from + i]);
            if (v > bestValue) {
                best = i;
                bestValue = v;
            }
        }
        return best;
    }

    private static float orNegativeInfinity(float v) {
        return Float.isNaN(v) ? Float.NEGATIVE_INFINITY : v;
    }
}
