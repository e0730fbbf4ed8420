package io.jgpt.cpu;

import io.jgpt.tensor.Tensor;
import java.util.Arrays;

/**
 * A host tensor: a row-major {@code float[]} (F32) or {@code int[]} (I32) plus its shape. The arrays are
 * exposed on purpose: the CPU kernels and tests work on them directly, without copies.
 *
 * <p>A tensor may be a {@linkplain #view view}: elements [{@link #offset()}, offset + numel) of a larger
 * array (a parameter inside its arena, a chunk of rows). {@link #data()} and {@link #ints()} refuse views, so a
 * kernel that has not been taught offsets fails loudly instead of reading the wrong elements; kernels that
 * accept views use {@link #array()} or {@link #intArray()} and {@link #offset()}.
 */
public final class CpuTensor implements Tensor {

    private final int[] shape;
    private final float[] data;
    private final int[] ints;
    private final int offset;

    private CpuTensor(int[] shape, float[] data, int[] ints, int offset, int length) {
        this.shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d <= 0) throw new IllegalArgumentException("tensor dimensions must be positive: " + Tensor.describe(shape));
            n *= d;
        }
        if (shape.length == 0 || offset < 0 || offset + n > length) {
            throw new IllegalArgumentException("shape " + Tensor.describe(shape) + " at offset " + offset
                    + " does not fit " + length + " elements");
        }
        this.data = data;
        this.ints = ints;
        this.offset = offset;
    }

    /** Wraps (does not copy) {@code data} as an F32 tensor. */
    public static CpuTensor ofFloats(float[] data, int... shape) {
        requireWhole(shape, data.length);
        return new CpuTensor(shape, data, null, 0, data.length);
    }

    /** Wraps (does not copy) {@code ints} as an I32 tensor. */
    public static CpuTensor ofInts(int[] ints, int... shape) {
        requireWhole(shape, ints.length);
        return new CpuTensor(shape, null, ints, 0, ints.length);
    }

    private static void requireWhole(int[] shape, int length) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n != length)
            throw new IllegalArgumentException("shape " + Tensor.describe(shape) + " does not hold " + length + " elements");
    }

    /** Elements [offset, offset + numel(shape)) of this tensor's array, as a tensor of that shape. */
    public CpuTensor view(long offset, int... shape) {
        int at = Math.toIntExact(this.offset + offset);
        if (data == null) return new CpuTensor(shape, null, ints, at, ints.length);
        return new CpuTensor(shape, data, null, at, data.length);
    }

    /** The backing array of an F32 tensor that is not a view. */
    public float[] data() {
        float[] a = array();
        if (isView()) {
            throw new IllegalStateException("F32 tensor " + Tensor.describe(shape) + " is a view at offset " + offset
                    + " of a larger array; this operation does not take views");
        }
        return a;
    }

    /** The array an F32 tensor (view or not) lives in; its elements start at {@link #offset()}. */
    public float[] array() {
        if (data == null) throw new IllegalStateException("I32 tensor " + Tensor.describe(shape) + " has no float data");
        return data;
    }

    /** Index of element 0 in {@link #array()}. */
    public int offset() {
        return offset;
    }

    public boolean isView() {
        return offset != 0 || numel() != (data != null ? data.length : ints.length);
    }

    /** The backing array of an I32 tensor that is not a view. */
    public int[] ints() {
        int[] a = intArray();
        if (isView()) {
            throw new IllegalStateException("I32 tensor " + Tensor.describe(shape) + " is a view at offset " + offset
                    + " of a larger array; this operation does not take views");
        }
        return a;
    }

    /** The array an I32 tensor (view or not) lives in; its elements start at {@link #offset()}. */
    public int[] intArray() {
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
        return "CpuTensor" + dtype() + Arrays.toString(shape) + (isView() ? "@" + offset : "");
    }
}
