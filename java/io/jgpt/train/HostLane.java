package io.jgpt.train;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import io.jgpt.JgptException;
import io.jgpt.cpu.CpuTensor;
import io.jgpt.dist.Communicator;
import io.jgpt.dist.Element;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The lane of CPU ranks: buffers in native host memory (MPI cannot read the Java heap), copies from and to
 * the tensors' arrays, and submitted work on one communication thread, so a bucket is reduced while the main
 * thread computes the backward pass of earlier layers. Host collectives block, so {@link #settle} has nothing
 * to wait for once {@link #join} has returned.
 */
final class HostLane implements ReductionLane {

    private final Communicator comm;
    private final Ops ops;
    private final Arena memory = Arena.ofShared();
    private final MemorySegment scalars;
    private final List<Future<?>> pending = new ArrayList<>();
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "gradient-reduction");
        t.setDaemon(true);
        return t;
    });

    HostLane(Communicator comm, Ops ops, Tensor arena) {
        host(arena); // the arenas are host arrays, or this lane cannot read them
        this.comm = comm;
        this.ops = ops;
        scalars = memory.allocate(JAVA_DOUBLE, comm.size());
    }

    @Override
    public Buffer buffer(long elements) {
        return new Buffer(memory.allocate(JAVA_FLOAT, elements), null, elements); // allocate zero-fills
    }

    private static CpuTensor host(Tensor t) {
        if (t instanceof CpuTensor c) return c;
        throw new JgptException("ranks talking through MPI train on --device cpu (GPU ranks talk through NCCL); got the tensor " + t);
    }

    @Override
    public void copy(Tensor src, long srcAt, Buffer dst, long dstAt, long n) {
        CpuTensor s = host(src);
        MemorySegment.copy(s.array(), Math.toIntExact(s.offset() + srcAt), dst.address(), JAVA_FLOAT, dstAt * Float.BYTES, Math.toIntExact(n));
    }

    @Override
    public void copy(Buffer src, long srcAt, Tensor dst, long dstAt, long n) {
        CpuTensor d = host(dst);
        MemorySegment.copy(src.address(), JAVA_FLOAT, srcAt * Float.BYTES, d.array(), Math.toIntExact(d.offset() + dstAt), Math.toIntExact(n));
    }

    @Override
    public void copy(Buffer src, long srcAt, Buffer dst, long dstAt, long n) {
        MemorySegment.copy(src.address(), srcAt * Float.BYTES, dst.address(), dstAt * Float.BYTES, n * Float.BYTES);
    }

    @Override
    public void submit(Runnable work) {
        pending.add(thread.submit(work));
    }

    @Override
    public void join() {
        try {
            for (Future<?> f : pending) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reducing gradients", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            pending.clear();
        }
    }

    @Override
    public void read(Buffer src, long srcAt, float[] dst, int dstAt, int n) {
        join();
        MemorySegment.copy(src.address(), JAVA_FLOAT, srcAt * Float.BYTES, dst, dstAt, n);
    }

    @Override
    public double sumOverRanks(double value) {
        // After the submitted work: this thread's collective must come after the communication thread's on every rank.
        join();
        scalars.setAtIndex(JAVA_DOUBLE, comm.rank(), value);
        comm.allGather(scalars, 1, Element.F64);
        double sum = 0;
        for (int r = 0; r < comm.size(); r++) sum += scalars.getAtIndex(JAVA_DOUBLE, r);
        return sum;
    }

    @Override
    public void sumInPlace(Tensor scalar) {
        ops.write(scalar, new float[] {(float) sumOverRanks(ops.download(scalar)[0])});
    }

    @Override
    public void settle() {
        join();
    }

    @Override
    public void close() {
        thread.shutdownNow();
        memory.close();
    }
}
