package io.jgpt.cpu;

import io.jgpt.tensor.Tensor;
import java.util.Arrays;

/**
 * A host tensor: a row-major {@code float[]} (F32) or {@code int[]} (I32) plus its shape. The arrays are
 * exposed on purpose: the CPU kernels and tests work on them directly, without copies.
 */
public final class CpuTensor implements Tensor {

    private final int[] shape;
    private final float[] data;
    private final int[] ints;

    private CpuTensor(int[] shape, float[] data, int[] ints, int length) {
        this.shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d <= 0) throw new IllegalArgumentException("tensor dimensions must be positive: " + Tensor.describe(shape));
            n *= d;
        }
        if (shape.length == 0 || n != length) {
            throw new IllegalArgumentException("shape " + Tensor.describe(shape) + " does not hold " + length + " elements");
        }
        this.data = data;
        this.ints = ints;
    }

    /** Wraps (does not copy) {@code data} as an F32 tensor. */
    public static CpuTensor ofFloats(float[] data, int... shape) {
        return new CpuTensor(shape, data, null, data.length);
    }

    /** Wraps (does not copy) {@code ints} as an I32 tensor. */
    public static CpuTensor ofInts(int[] ints, int... shape) {
        return new CpuTensor(shape, null, ints, ints.length);
    }

    /** The backing array of an F32 tensor. */
    public float[] data() {
        if (data == null) throw new IllegalStateException("I32 tensor " + Tensor.describe(shape) + " has no float data");
        return data;
    }

    /** The backing array of an I32 tensor. */
    public int[] ints() {
        if (ints == null) throw new IllegalStateException("F32 tensor " + Tensor.describe(shape) + " has no int data");
        return ints;
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public DType dtype() {
        return data != null ? DType.F32 : DType.I32;
    }

    @Override
    public String toString() {
        return "CpuTensor" + dtype() + Arrays.toString(shape);
    }
}
