package io.jgpt.train;

import io.jgpt.dist.Communicator;
import io.jgpt.dist.Element;
import io.jgpt.dist.SideStream;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/**
 * The lane of GPU ranks: buffers are device tensors of the backend, and copies and collectives (NCCL) are
 * queued on a {@link SideStream}. Submitting work first makes that stream wait for everything the compute
 * stream has queued (a bucket's backward kernels); {@link #join} makes the compute stream wait for the
 * side stream (the optimizer after the last bucket). Nothing here waits on the host but {@link #settle},
 * which polls the communicator (asynchronous errors, timeout) instead of blocking in the driver.
 */
final class DeviceLane implements ReductionLane {

    private final Communicator comm;
    private final Ops ops;
    private final SideStream stream;
    /** One double per rank, as two I32 halves each: the host writes and reads integers exactly. */
    private final Tensor scalars;

    DeviceLane(Communicator comm, Ops ops, SideStream stream) {
        if (comm.memory() != Communicator.Memory.DEVICE) throw new IllegalArgumentException(comm.describe() + " works on host memory");
        this.comm = comm;
        this.ops = ops;
        this.stream = stream;
        scalars = ops.zeros(DType.I32, 2 * comm.size());
    }

    @Override
    public Buffer buffer(long elements) {
        Tensor t = ops.zeros(DType.F32, Math.toIntExact(elements));
        return new Buffer(stream.address(t), t, elements);
    }

    @Override
    public void copy(Tensor src, long srcAt, Buffer dst, long dstAt, long n) {
        stream.copy(src, srcAt, dst.tensor(), dstAt, n);
    }

    @Override
    public void copy(Buffer src, long srcAt, Tensor dst, long dstAt, long n) {
        stream.copy(src.tensor(), srcAt, dst, dstAt, n);
    }

    @Override
    public void copy(Buffer src, long srcAt, Buffer dst, long dstAt, long n) {
        stream.copy(src.tensor(), srcAt, dst.tensor(), dstAt, n);
    }

    @Override
    public void submit(Runnable work) {
        stream.waitForCompute();
        work.run();
    }

    @Override
    public void join() {
        stream.computeWaits();
    }

    @Override
    public void read(Buffer src, long srcAt, float[] dst, int dstAt, int n) {
        join();
        settle();
        float[] part = ops.download(ops.view(src.tensor(), srcAt, n));
        System.arraycopy(part, 0, dst, dstAt, n);
    }

    @Override
    public double sumOverRanks(double value) {
        long bits = Double.doubleToRawLongBits(value);
        ops.write(ops.view(scalars, 2L * comm.rank(), 2), new int[] {(int) bits, (int) (bits >>> 32)});
        submit(() -> comm.allGather(stream.address(scalars), 1, Element.F64)); // moves bytes: no arithmetic on them
        join();
        settle();
        int[] all = new int[2 * comm.size()];
        ops.read(scalars, all);
        double sum = 0;
        for (int r = 0; r < comm.size(); r++) {
            sum += Double.longBitsToDouble((all[2 * r] & 0xFFFFFFFFL) | ((long) all[2 * r + 1] << 32));
        }
        return sum;
    }

    @Override
    public void sumInPlace(Tensor scalar) {
        submit(() -> comm.allReduceSum(stream.address(scalar), 1, Element.F32));
        join();
    }

    @Override
    public void settle() {
        comm.await();
    }

    @Override
    public void close() {
        stream.close();
        scalars.close();
    }
}
