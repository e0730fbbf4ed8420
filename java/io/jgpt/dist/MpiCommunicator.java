package io.jgpt.dist;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * MPI_COMM_WORLD of the processes {@code mpirun} (or {@code srun}) started, over host memory. MPI is
 * initialised with MPI_THREAD_SERIALIZED: a communication thread may issue the collectives while the main
 * thread computes, and this class serialises the calls. A rank that dies ends the job: Open MPI's default
 * error handler (errors are fatal) aborts every rank, and mpirun exits non-zero.
 */
public final class MpiCommunicator implements Communicator {

    private final Mpi mpi;
    private final int rank, size;
    private final String version;
    private boolean closed;

    private MpiCommunicator(Mpi mpi, int rank, int size, String version) {
        this.mpi = mpi;
        this.rank = rank;
        this.size = size;
        this.version = version;
    }

    /** Initialises MPI (once per process) and joins MPI_COMM_WORLD. */
    public static MpiCommunicator init() {
        Mpi mpi = Mpi.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment flag = a.allocate(JAVA_INT);
            mpi.check((int) mpi.initialized.invokeExact(flag), "MPI_Initialized");
            if (flag.get(JAVA_INT, 0) == 0) {
                MemorySegment provided = a.allocate(JAVA_INT);
                mpi.check((int) mpi.initThread.invokeExact(MemorySegment.NULL, MemorySegment.NULL,
                        Mpi.THREAD_SERIALIZED, provided), "MPI_Init_thread");
                if (provided.get(JAVA_INT, 0) < Mpi.THREAD_SERIALIZED) {
                    throw new IllegalStateException("MPI provides thread level " + provided.get(JAVA_INT, 0)
                            + ", below MPI_THREAD_SERIALIZED (" + Mpi.THREAD_SERIALIZED + ")");
                }
            }
            MemorySegment r = a.allocate(JAVA_INT), s = a.allocate(JAVA_INT);
            mpi.check((int) mpi.commRank.invokeExact(mpi.commWorld, r), "MPI_Comm_rank");
            mpi.check((int) mpi.commSize.invokeExact(mpi.commWorld, s), "MPI_Comm_size");
            MemorySegment text = a.allocate(8192), len = a.allocate(JAVA_INT);
            mpi.check((int) mpi.libraryVersion.invokeExact(text, len), "MPI_Get_library_version");
            String v = new String(text.asSlice(0, len.get(JAVA_INT, 0)).toArray(JAVA_BYTE)).lines().findFirst().orElse("").trim();
            return new MpiCommunicator(mpi, r.get(JAVA_INT, 0), s.get(JAVA_INT, 0), v);
        } catch (Throwable t) {
            throw Mpi.rethrow(t);
        }
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
        return "mpi (" + version + ")";
    }

    @Override
    public synchronized void allReduceSum(MemorySegment buffer, long count, Element type) {
        try {
            // MPI counts are ints: reduce a larger buffer in int-sized pieces (the sum is element-wise).
            for (long done = 0; done < count; ) {
                int n = (int) Math.min(count - done, Integer.MAX_VALUE / 8);
                MemorySegment piece = at(buffer, done, type);
                mpi.check((int) mpi.allreduce.invokeExact(Mpi.IN_PLACE, piece, n, mpi.datatype(type), mpi.sum,
                        mpi.commWorld), "MPI_Allreduce(count=" + n + ")");
                done += n;
            }
        } catch (Throwable t) {
            throw Mpi.rethrow(t);
        }
    }

    @Override
    public synchronized void reduceScatterSum(MemorySegment send, MemorySegment recv, long recvCount, Element type) {
        try {
            mpi.check((int) mpi.reduceScatterBlock.invokeExact(send, recv, intCount(recvCount), mpi.datatype(type),
                    mpi.sum, mpi.commWorld), "MPI_Reduce_scatter_block(recvcount=" + recvCount + ")");
        } catch (Throwable t) {
            throw Mpi.rethrow(t);
        }
    }

    @Override
    public synchronized void allGather(MemorySegment buffer, long chunkCount, Element type) {
        try {
            int n = intCount(chunkCount);
            MemorySegment t = mpi.datatype(type);
            mpi.check((int) mpi.allgather.invokeExact(Mpi.IN_PLACE, 0, t, buffer, n, t, mpi.commWorld),
                    "MPI_Allgather(count=" + n + ")");
        } catch (Throwable t) {
            throw Mpi.rethrow(t);
        }
    }

    @Override
    public synchronized void broadcast(MemorySegment buffer, long count, Element type, int root) {
        try {
            for (long done = 0; done < count; ) {
                int n = (int) Math.min(count - done, Integer.MAX_VALUE / 8);
                mpi.check((int) mpi.bcast.invokeExact(at(buffer, done, type), n, mpi.datatype(type), root,
                        mpi.commWorld), "MPI_Bcast(count=" + n + ", root=" + root + ")");
                done += n;
            }
        } catch (Throwable t) {
            throw Mpi.rethrow(t);
        }
    }

    @Override
    public synchronized void barrier() {
        try {
            mpi.check((int) mpi.barrier.invokeExact(mpi.commWorld), "MPI_Barrier");
        } catch (Throwable t) {
            throw Mpi.rethrow(t);
        }
    }

    /**
     * Ends the job on every rank with a non-zero exit (MPI_Abort): for a rank that cannot go on, so the
     * others do not wait in a collective for ever.
     */
    public void abort(int code) {
        try {
            int ignored = (int) mpi.abort.invokeExact(mpi.commWorld, code);
        } catch (Throwable t) {
            throw Mpi.rethrow(t);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            mpi.check((int) mpi.finalizeMpi.invokeExact(), "MPI_Finalize");
        } catch (Throwable t) {
            throw Mpi.rethrow(t);
        }
    }

    private static MemorySegment at(MemorySegment buffer, long element, Element type) {
        return MemorySegment.ofAddress(buffer.address() + element * type.bytes());
    }

    private static int intCount(long count) {
        if (count > Integer.MAX_VALUE) throw new IllegalArgumentException("MPI count " + count + " exceeds 2^31 - 1");
        return (int) count;
    }
}
