package io.jgpt.cpu;

import io.jgpt.tensor.Tensor;
import java.util.Arrays;

/** Argument checks shared by every op; messages name the op, the tensor and both shapes. */
final class Shapes {

    private Shapes() {}

    /** {@code t} as a CPU F32 tensor. */
    static CpuTensor f32(String op, String name, Tensor t) {
        return cpu(op, name, t, Tensor.DType.F32);
    }

    /** {@code t} as a CPU I32 tensor. */
    static CpuTensor i32(String op, String name, Tensor t) {
        return cpu(op, name, t, Tensor.DType.I32);
    }

    private static CpuTensor cpu(String op, String name, Tensor t, Tensor.DType dtype) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " must not be null");
        if (!(t instanceof CpuTensor c)) {
            throw new IllegalArgumentException(op + ": " + name + " is not a CPU tensor: " + t.getClass().getName());
        }
        if (c.dtype() != dtype) {
            throw new IllegalArgumentException(op + ": " + name + " " + Tensor.describe(c.shape()) + " is " + c.dtype()
                    + ", expected " + dtype);
        }
        return c;
    }

    /** Exactly this shape. */
    static void expect(String op, String name, Tensor t, int... expected) {
        if (!Arrays.equals(t.shape(), expected)) fail(op, name, t, Tensor.describe(expected));
    }

    /** Any shape whose leading dimensions flatten to {@code rows} and whose last dimension is {@code cols}. */
    static void expectRows(String op, String name, Tensor t, int rows, int cols) {
        if (t.lastDim() != cols || t.numel() != (long) rows * cols) {
            fail(op, name, t, "[" + rows + ", " + cols + "] (leading dimensions flattened)");
        }
    }

    /** Any shape holding exactly {@code n} elements (one per row of another tensor). */
    static void expectNumel(String op, String name, Tensor t, int n) {
        if (t.numel() != n) fail(op, name, t, "[" + n + "] (any shape of " + n + " elements)");
    }

    /** The number of dimensions. */
    static void expectRank(String op, String name, Tensor t, int rank) {
        if (t.shape().length != rank) fail(op, name, t, "rank " + rank);
    }

    private static void fail(String op, String name, Tensor t, String expected) {
        throw new IllegalArgumentException(op + ": " + name + " has shape " + Tensor.describe(t.shape())
                + ", expected " + expected);
    }
}
