package io.jgpt.cuda;

import io.jgpt.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

/**
 * A dense row-major tensor in device memory (elements of {@link #dtype()}'s size). It either owns its
 * allocation, which {@link #close()} frees, or is a {@linkplain #view view} into another tensor's (a parameter
 * inside its arena), which closing leaves alone.
 */
public final class CudaTensor implements Tensor {

    private final CudaContext ctx;
    private final int[] shape;
    private final DType dtype;
    private final CudaTensor base;
    private final long byteOffset;
    /** False for a tensor placed in memory another owner frees ({@link #placed}). */
    private boolean owner = true;
    private CUdeviceptr ptr;

    CudaTensor(CudaContext ctx, DType dtype, int[] shape) {
        this(ctx, dtype, shape, null, 0);
        this.ptr = ctx.alloc(bytes());
    }

    /** A tensor at {@code byteOffset} of an allocation shared by several tensors; closing it frees nothing. */
    static CudaTensor placed(CudaContext ctx, DType dtype, int[] shape, CUdeviceptr memory, long byteOffset) {
        CudaTensor t = new CudaTensor(ctx, dtype, shape, null, 0);
        t.owner = false;
        t.ptr = memory.withByteOffset(byteOffset);
        return t;
    }

    private CudaTensor(CudaContext ctx, DType dtype, int[] shape, CudaTensor base, long byteOffset) {
        for (int d : shape)
            if (d <= 0) throw new IllegalArgumentException("bad tensor shape " + Tensor.describe(shape));
        this.ctx = ctx;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.base = base;
        this.byteOffset = byteOffset;
    }

    /** Elements [offset, offset + numel(shape)) of this tensor, sharing its memory. */
    CudaTensor view(long offset, int... shape) {
        CudaTensor root = base == null ? this : base;
        CudaTensor v = new CudaTensor(ctx, dtype, shape, root, byteOffset + (long) dtype.bytes() * offset);
        if (offset < 0 || offset + v.numel() > numel())
            throw new IllegalArgumentException("view " + Tensor.describe(shape) + " at offset " + offset
                    + " does not fit in " + this);
        return v;
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
        if (base != null) return base.ptr().withByteOffset(byteOffset);
        if (ptr == null) throw new IllegalStateException("tensor " + this + " was closed");
        return ptr;
    }

    @Override
    public void close() {
        if (base != null || !owner) return;
        if (ptr != null) ctx.free(ptr);
        ptr = null;
    }

    @Override
    public String toString() {
        return dtype + Tensor.describe(shape) + (base == null ? "" : "@" + byteOffset / dtype.bytes());
    }
}
