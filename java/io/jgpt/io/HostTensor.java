package io.jgpt.io;

import java.util.Arrays;

/** A float tensor on the host: its shape and its elements in row-major order. */
public record HostTensor(int[] shape, float[] data) {
    public HostTensor {
        if (elements(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + elements(shape)
                    + " elements, data has " + data.length);
        }
    }

    public static HostTensor zeros(int... shape) {
        return new HostTensor(shape, new float[Math.toIntExact(elements(shape))]);
    }

    /** Product of the dimensions; a negative dimension gives -1, which no array length matches. */
    public static long elements(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                return -1;
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The transpose of a matrix, (rows, cols) to (cols, rows). */
    public HostTensor transposed() {
        if (shape.length != 2) {
            throw new IllegalStateException("transpose needs a matrix, shape is " + shapeString());
        }
        int rows = shape[0];
        int cols = shape[1];
        float[] out = new float[data.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = data[r * cols + c];
            }
        }
        return new HostTensor(new int[] {cols, rows}, out);
    }

    public boolean isAllZero() {
        for (float v : data) {
            if (v != 0) {
                return false;
            }
        }
        return true;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** Same shape and the same floats bit for bit; records compare arrays by identity otherwise. */
    public boolean sameAs(HostTensor other) {
        return Arrays.equals(shape, other.shape) && Arrays.equals(data, other.data);
    }
}
