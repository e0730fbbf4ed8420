package io.jgpt.cuda;

import io.jgpt.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

/** A dense row-major tensor in device memory (elements of {@link #dtype()}'s size); {@link #close()} frees it. */
public final class CudaTensor implements Tensor {

    private final CudaContext ctx;
    private final int[] shape;
    private final DType dtype;
    private CUdeviceptr ptr;

    CudaTensor(CudaContext ctx, DType dtype, int[] shape) {
        for (int d : shape)
            if (d <= 0) throw new IllegalArgumentException("bad tensor shape " + Tensor.describe(shape));
        this.ctx = ctx;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.ptr = ctx.alloc(bytes());
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    public CUdeviceptr ptr() {
        if (ptr == null) throw new IllegalStateException("tensor " + this + " was closed");
        return ptr;
    }

    @Override
    public void close() {
        if (ptr != null) ctx.free(ptr);
        ptr = null;
    }

    @Override
    public String toString() {
        return dtype + Tensor.describe(shape);
    }
}
