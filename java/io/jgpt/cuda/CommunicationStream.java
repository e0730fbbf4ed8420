package io.jgpt.cuda;

import io.jgpt.cuda.blas.NativeAddress;
import io.jgpt.dist.SideStream;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.lang.foreign.MemorySegment;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;

/**
 * The CUDA backend's second stream, where data parallelism queues its copies and NCCL collectives. One
 * event per direction suffices: a stream waits for an event's latest record at the time of the wait.
 */
final class CommunicationStream implements SideStream {

    private final CudaContext ctx;
    private final CUstream stream;
    private final CUevent computeDone, communicationDone;
    private final CudaTensor scratch;
    private boolean closed;

    CommunicationStream(CudaContext ctx) {
        this.ctx = ctx;
        CudaDriver d = ctx.driver();
        stream = d.createStream();
        computeDone = d.createEvent();
        communicationDone = d.createEvent();
        scratch = new CudaTensor(ctx, DType.F32, new int[] {2});
    }

    @Override
    public long handle() {
        return NativeAddress.ofHandle(stream);
    }

    @Override
    public boolean idle() {
        return ctx.driver().idle(stream);
    }

    @Override
    public MemorySegment scratch() {
        return address(scratch);
    }

    @Override
    public void waitForCompute() {
        CudaDriver d = ctx.driver();
        d.record(computeDone, ctx.stream());
        d.waitEvent(stream, computeDone);
    }

    @Override
    public void computeWaits() {
        CudaDriver d = ctx.driver();
        d.record(communicationDone, stream);
        d.waitEvent(ctx.stream(), communicationDone);
    }

    @Override
    public MemorySegment address(Tensor t) {
        return MemorySegment.ofAddress(NativeAddress.of(device(t).ptr()));
    }

    @Override
    public void copy(Tensor src, long srcAt, Tensor dst, long dstAt, long elements) {
        CudaTensor s = device(src), d = device(dst);
        if (s.dtype() != DType.F32 || d.dtype() != DType.F32) throw new IllegalArgumentException("copies F32 tensors, got " + s + ", " + d);
        if (srcAt < 0 || dstAt < 0 || srcAt + elements > s.numel() || dstAt + elements > d.numel())
            throw new IllegalArgumentException("copy of " + elements + " from " + s + "@" + srcAt + " to " + d + "@" + dstAt + " is out of bounds");
        ctx.driver().copyDeviceAsync(d.ptr().withByteOffset(4 * dstAt), s.ptr().withByteOffset(4 * srcAt), 4 * elements, stream);
    }

    private static CudaTensor device(Tensor t) {
        if (t instanceof CudaTensor c) return c;
        throw new IllegalArgumentException("not a CUDA tensor: " + t);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        CudaDriver d = ctx.driver();
        // No wait: a stream destroyed with work queued is released once that work is done, and after an aborted
        // NCCL communicator waiting here could be for ever.
        d.destroyEvent(computeDone);
        d.destroyEvent(communicationDone);
        d.destroyStream(stream);
        scratch.close();
    }
}
