package io.jgpt.tensor;

import java.util.Arrays;

/**
 * A dense, row-major block of numbers owned by one backend (host arrays for the CPU, device memory for CUDA).
 * Model code never looks inside a tensor; it only passes tensors to {@link io.jgpt.ops.Ops}.
 */
public interface Tensor extends AutoCloseable {

    /** Element type of a tensor's storage, with its size. Host data of F32 and BF16 tensors is {@code float[]}. */
    enum DType {
        F32(4), BF16(2), I32(4);

        private final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }

        /** Bytes per element in storage. */
        public int bytes() {
            return bytes;
        }

        /** Whether host data of this type is {@code float[]} (F32, BF16) rather than {@code int[]} (I32). */
        public boolean floating() {
            return this != I32;
        }
    }

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

    /** Storage size in bytes. */
    default long bytes() {
        return numel() * dtype().bytes();
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
