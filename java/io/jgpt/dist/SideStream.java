package io.jgpt.dist;

import io.jgpt.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * A device stream beside the backend's compute stream, for collectives that overlap computation: the two
 * are ordered by events only, at the points the caller names, so a bucket's reduction starts as soon as the
 * backward kernels that finish it have been queued and runs while later ones compute.
 */
public interface SideStream extends DeviceStream, AutoCloseable {

    /** Work queued here from now on starts after everything queued on the compute stream so far. */
    void waitForCompute();

    /** Work queued on the compute stream from now on starts after everything queued here so far. */
    void computeWaits();

    /** The device address of a tensor of the backend (what a collective on it is given). */
    MemorySegment address(Tensor t);

    /** Queues copying {@code elements} F32 elements from {@code src} at {@code srcAt} to {@code dst} at {@code dstAt}. */
    void copy(Tensor src, long srcAt, Tensor dst, long dstAt, long elements);

    /** Releases the stream (without waiting for its work). */
    @Override
    void close();
}
