package io.jgpt.dist;

import java.lang.foreign.MemorySegment;

/** One rank, no communication: reductions and gathers over one rank leave host buffers as they are. */
public final class SingleProcess implements Communicator {

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int size() {
        return 1;
    }

    @Override
    public Memory memory() {
        return Memory.HOST;
    }

    @Override
    public String describe() {
        return "single process";
    }

    @Override
    public void allReduceSum(MemorySegment buffer, long count, Element type) {}

    @Override
    public void reduceScatterSum(MemorySegment send, MemorySegment recv, long recvCount, Element type) {
        long bytes = recvCount * type.bytes();
        MemorySegment.copy(send.reinterpret(bytes), 0, recv.reinterpret(bytes), 0, bytes);
    }

    @Override
    public void allGather(MemorySegment buffer, long chunkCount, Element type) {}

    @Override
    public void broadcast(MemorySegment buffer, long count, Element type, int root) {
        if (root != 0) throw new IllegalArgumentException("broadcast root " + root + " outside a single process");
    }

    @Override
    public void barrier() {}

    @Override
    public void close() {}
}
