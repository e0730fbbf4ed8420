package io.jgpt.dist;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Ranks as threads of one test JVM over host memory: each collective publishes every rank's buffer, meets
 * at a barrier, and lets each rank read the others' in rank order (sums added rank 0 first, as the MPI
 * path's partial sums are). For tests of data-parallel logic without mpirun; F32 and F64 elements.
 */
public final class ThreadRanks {

    private final int size;
    private final CyclicBarrier barrier;
    private final MemorySegment[] published;

    public ThreadRanks(int size) {
        this.size = size;
        barrier = new CyclicBarrier(size);
        published = new MemorySegment[size];
    }

    /** The communicator of one rank; each rank's thread uses its own. */
    public Communicator rank(int rank) {
        return new Rank(rank);
    }

    /** Each rank's communicator, in rank order. */
    public List<Communicator> all() {
        List<Communicator> out = new ArrayList<>();
        for (int r = 0; r < size; r++) out.add(rank(r));
        return out;
    }

    private final class Rank implements Communicator {
        private final int rank;

        Rank(int rank) {
            this.rank = rank;
        }

        @Override
        public int rank() {
            return rank;
        }

        @Override
        public int size() {
            return size;
        }

        @Override
        public Memory memory() {
            return Memory.HOST;
        }

        @Override
        public String describe() {
            return "threads (" + size + " ranks)";
        }

        private MemorySegment[] publish(MemorySegment s) {
            // Unbound from the owner's arena, so that the other ranks' threads may read it.
            published[rank] = MemorySegment.ofAddress(s.address()).reinterpret(s.byteSize());
            meet();
            return published.clone();
        }

        private void meet() {
            try {
                barrier.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                throw new IllegalStateException("rank " + rank + ": a peer did not reach the collective", e);
            }
        }

        private static double get(MemorySegment s, long i, Element t) {
            return t == Element.F64 ? s.getAtIndex(JAVA_DOUBLE, i) : s.getAtIndex(JAVA_FLOAT, i);
        }

        private static void set(MemorySegment s, long i, Element t, double x) {
            if (t == Element.F64) s.setAtIndex(JAVA_DOUBLE, i, x);
            else s.setAtIndex(JAVA_FLOAT, i, (float) x);
        }

        @Override
        public void allReduceSum(MemorySegment buffer, long count, Element type) {
            MemorySegment[] all = publish(buffer.reinterpret(count * type.bytes()));
            double[] sum = new double[Math.toIntExact(count)];
            for (int i = 0; i < count; i++) {
                float f = 0;
                double d = 0;
                for (MemorySegment s : all) {
                    if (type == Element.F64) d += get(s, i, type);
                    else f += (float) get(s, i, type);
                }
                sum[i] = type == Element.F64 ? d : f;
            }
            meet(); // every rank has read every buffer before any is overwritten
            for (int i = 0; i < count; i++) set(buffer, i, type, sum[i]);
            meet();
        }

        @Override
        public void reduceScatterSum(MemorySegment send, MemorySegment recv, long recvCount, Element type) {
            MemorySegment[] all = publish(send.reinterpret(recvCount * size * type.bytes()));
            MemorySegment out = recv.reinterpret(recvCount * type.bytes());
            for (long i = 0; i < recvCount; i++) {
                float f = 0;
                double d = 0;
                for (MemorySegment s : all) {
                    if (type == Element.F64) d += get(s, rank * recvCount + i, type);
                    else f += (float) get(s, rank * recvCount + i, type);
                }
                set(out, i, type, type == Element.F64 ? d : f);
            }
            meet();
        }

        @Override
        public void allGather(MemorySegment buffer, long chunkCount, Element type) {
            long chunk = chunkCount * type.bytes();
            MemorySegment[] all = publish(buffer.reinterpret(chunk * size));
            for (int r = 0; r < size; r++) {
                if (r != rank) MemorySegment.copy(all[r], r * chunk, all[rank], r * chunk, chunk);
            }
            meet();
        }

        @Override
        public void broadcast(MemorySegment buffer, long count, Element type, int root) {
            long bytes = count * type.bytes();
            MemorySegment[] all = publish(buffer.reinterpret(bytes));
            if (rank != root) MemorySegment.copy(all[root], 0, all[rank], 0, bytes);
            meet();
        }

        @Override
        public void barrier() {
            meet();
        }

        @Override
        public void close() {}
    }
}
