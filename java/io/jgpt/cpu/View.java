package io.jgpt.cpu;

/**
 * A strided read-only matrix view over a float array: element (i, j) is {@code a[offset + i*rowStride +
 * j*colStride]}. It lets one GEMM serve all three products of a linear layer: a transposed operand is the same
 * array with its strides swapped, no copy needed.
 */
record View(float[] a, int offset, int rowStride, int colStride) {

    static View rowMajor(float[] a, int cols) {
        return new View(a, 0, cols, 1);
    }

    /** The same matrix with element (i, j) as its origin: a block that starts there. */
    View from(int i, int j) {
        return new View(a, offset + i * rowStride + j * colStride, rowStride, colStride);
    }

    View transpose() {
        return new View(a, offset, colStride, rowStride);
    }

    float get(int i, int j) {
        return a[offset + i * rowStride + j * colStride];
    }
}
