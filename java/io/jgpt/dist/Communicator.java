package io.jgpt.dist;

import java.lang.foreign.MemorySegment;

/**
 * The collectives data-parallel training needs, over a fixed group of {@link #size()} ranks. Buffers are
 * addresses in the communicator's {@link #memory()}: host memory for MPI and the single process, device
 * memory (on the communicator's stream) for NCCL. Counts are in elements; every rank passes the same counts.
 * Every collective is blocking for host memory; for device memory it is ordered on the communicator's stream.
 */
public interface Communicator extends AutoCloseable {

    /** Where the buffers handed to the collectives live. */
    enum Memory { HOST, DEVICE }

    int rank();

    int size();

    Memory memory();

    /** What the ranks talk through: "single process", "mpi (Open MPI 4.1.4)", "nccl 2.21.5". */
    String describe();

    /** buffer[i] = sum over ranks of buffer[i], in place; every rank ends with the same bits. */
    void allReduceSum(MemorySegment buffer, long count, Element type);

    /**
     * recv[i] = sum over ranks of send[rank * recvCount + i]: send holds size() * recvCount elements,
     * recv (a separate buffer) receives this rank's reduced chunk.
     */
    void reduceScatterSum(MemorySegment send, MemorySegment recv, long recvCount, Element type);

    /**
     * In place: buffer holds size() chunks of chunkCount elements; each rank's own chunk (at rank * chunkCount)
     * is its input, and afterwards every rank holds every chunk.
     */
    void allGather(MemorySegment buffer, long chunkCount, Element type);

    /** buffer on every rank = buffer on root. */
    void broadcast(MemorySegment buffer, long count, Element type, int root);

    /** Returns once every rank has called it (device memory: once the stream's work before it is done). */
    void barrier();

    /**
     * Returns once the collectives issued so far have finished. Host collectives block, so there is nothing to
     * wait for; device ones are polled, failing (and aborting the communicator) on a peer's death or a timeout.
     */
    default void await() {}

    @Override
    void close();
}
