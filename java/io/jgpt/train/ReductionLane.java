package io.jgpt.train;

import io.jgpt.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Where {@link DataParallel}'s collectives find their buffers, and how they are ordered against the compute
 * work around them: {@link HostLane} (CPU tensors, MPI, a communication thread) or {@link DeviceLane} (CUDA
 * tensors, NCCL, a second stream ordered by events). Copies and collectives inside submitted work run in
 * submission order; the compute work queued after {@link #join} sees all of it.
 */
interface ReductionLane extends AutoCloseable {

    /** F32 elements the communicator works on: {@code address} for the collectives, {@code tensor} on a device. */
    record Buffer(MemorySegment address, Tensor tensor, long elements) {}

    /** A zero-filled buffer of {@code elements} F32 elements. */
    Buffer buffer(long elements);

    /** Copies (or queues copying) {@code n} elements of a backend tensor into a buffer. */
    void copy(Tensor src, long srcAt, Buffer dst, long dstAt, long n);

    void copy(Buffer src, long srcAt, Tensor dst, long dstAt, long n);

    void copy(Buffer src, long srcAt, Buffer dst, long dstAt, long n);

    /** Runs {@code work} (its copies and collectives) after the compute work queued so far. */
    void submit(Runnable work);

    /** Compute work queued from now on comes after everything submitted. */
    void join();

    /** The elements of a buffer on the host, once what was submitted before has finished (waits). */
    void read(Buffer src, long srcAt, float[] dst, int dstAt, int n);

    /** The sum of one value from every rank, added in rank order (waits): the same bits on every rank. */
    double sumOverRanks(double value);

    /** Replaces a one-element backend tensor (the step's loss) with its sum over the ranks, after the compute before it. */
    void sumInPlace(Tensor scalar);

    /**
     * Returns once the collectives submitted so far have finished, or fails (having aborted the communicator)
     * when the communicator reports a dead peer or its timeout passes. Called before anything waits for the
     * compute stream, which may be waiting for a collective that a dead rank will never complete.
     */
    void settle();

    @Override
    void close();
}
