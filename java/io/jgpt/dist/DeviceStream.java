package io.jgpt.dist;

import java.lang.foreign.MemorySegment;

/** The CUDA stream a device communicator queues its collectives on, as the CUDA backend exposes it. */
public interface DeviceStream {

    /** The raw {@code CUstream}/{@code cudaStream_t} (0: the legacy default stream). */
    long handle();

    /** Whether every operation queued so far has finished (cuStreamQuery), without blocking. */
    boolean idle();

    /** At least 8 bytes of device memory the communicator may use for itself (the barrier's token). */
    MemorySegment scratch();
}
