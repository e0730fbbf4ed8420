package io.jgpt.cuda;

import java.util.Arrays;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * A kernel's arguments packed for {@code cuLaunchKernel}, in declaration order, each with its C size: a
 * pointer 8 bytes, an int 4, a long 8, a float 4. {@link Kernels} fills it, so the order and sizes follow the
 * kernel's signature.
 */
final class KernelArgs {

    private static final long[] NULL = {0};

    private final Pointer[] params;
    private final String[] shown; // for error messages
    private int n;

    KernelArgs(int count) {
        params = new Pointer[count];
        shown = new String[count];
    }

    KernelArgs ptr(CUdeviceptr p) {
        return add(p == null ? Pointer.to(NULL) : Pointer.to(p), p == null ? "null" : "ptr");
    }

    KernelArgs i32(int v) {
        return add(Pointer.to(new int[] {v}), Integer.toString(v));
    }

    KernelArgs i64(long v) {
        return add(Pointer.to(new long[] {v}), Long.toString(v));
    }

    KernelArgs f32(float v) {
        return add(Pointer.to(new float[] {v}), Float.toString(v));
    }

    private KernelArgs add(Pointer p, String text) {
        params[n] = p;
        shown[n++] = text;
        return this;
    }

    /** The {@code kernelParams} array of {@code cuLaunchKernel}. */
    Pointer pointer() {
        if (n != params.length) throw new IllegalStateException("packed " + n + " of " + params.length + " arguments");
        return Pointer.to(params);
    }

    int count() {
        return n;
    }

    @Override
    public String toString() {
        return Arrays.toString(Arrays.copyOf(shown, n));
    }
}
