package io.jgpt.tensor;

import java.util.Arrays;

/**
 * A dense, row-major block of numbers owned by one backend (host arrays for the CPU, device memory for CUDA).
 * Model code never looks inside a tensor; it only passes tensors to {@link io.jgpt.ops.Ops}.
 */
public interface Tensor extends AutoCloseable {

    enum DType { F32, I32 }

    int[] shape();

    DType dtype();

    /** Frees backend memory; host tensors make this a no-op. */
    @Override
    default void close() {}

    default long numel() {
        long n = 1;
        for (int d : shape()) n *= d;
        return n;
    }

    /** Size of the last dimension (the "row" length many kernels work on). */
    default int lastDim() {
        int[] s = shape();
        return s[s.length - 1];
    }

    /** Number of rows when the tensor is seen as (numel / lastDim, lastDim). */
    default int rows() {
        return Math.toIntExact(numel() / lastDim());
    }

    static String describe(int[] shape) {
        return Arrays.toString(shape);
    }
}
