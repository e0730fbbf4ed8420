package io.jgpt.dist;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * MPI_COMM_WORLD of the processes {@code mpirun} (or {@code srun}) started, over host memory. MPI is
 * initialised with MPI_THREAD_SERIALIZED: a communication thread may issue the collectives while the main
 * thread computes, and this class serialises the calls. A rank that dies ends the job: Open MPI's default
 * error handler (errors are fatal) aborts every rank, and mpirun exits non-zero.
 *
 * <p>MPI can be initialised once per process, so there is one instance, {@link #world()}, for the JVM's
 * life; MPI_Finalize runs when the JVM exits (unless a collective is still blocked then, as when a peer died:
 * the launcher ends the job anyway).
 */
public final class MpiCommunicator implements Communicator {

    private final Mpi mpi;
    private final int rank, size;
    private final String version;
    private final ReentrantLock lock = new ReentrantLock();
    private static MpiCommunicator world;
    private boolean finalized;

    private MpiCommunicator(Mpi mpi, int rank, int size, String version) {
        this.mpi = mpi;
        this.rank = rank;
        this.size = size;
        this.version = version;
    }

    /** MPI_COMM_WORLD, initialising MPI on first use. */
    public static synchronized MpiCommunicator world() {
        if (world == null) {
            world = init();
            Runtime.getRuntime().addShutdownHook(new Thread(world::finalizeMpi, "mpi-finalize"));
        }
        return world;
    }

    private static MpiCommunicator init() {
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
    public void allReduceSum(MemorySegment buffer, long count, Element type) {
        // MPI counts are ints: reduce a larger buffer in int-sized pieces (the sum is element-wise).
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(count - done, Integer.MAX_VALUE / 8);
            MemorySegment piece = at(buffer, done, type);
            call("MPI_Iallreduce(count=" + n + ")", request -> (int) mpi.iallreduce.invokeExact(Mpi.IN_PLACE, piece, n,
                    mpi.datatype(type), mpi.sum, mpi.commWorld, request));
            done += n;
        }
    }

    @Override
    public void reduceScatterSum(MemorySegment send, MemorySegment recv, long recvCount, Element type) {
        int n = intCount(recvCount);
        call("MPI_Ireduce_scatter_block(recvcount=" + n + ")", request -> (int) mpi.ireduceScatterBlock.invokeExact(send,
                recv, n, mpi.datatype(type), mpi.sum, mpi.commWorld, request));
    }

    @Override
    public void allGather(MemorySegment buffer, long chunkCount, Element type) {
        int n = intCount(chunkCount);
        MemorySegment t = mpi.datatype(type);
        call("MPI_Iallgather(count=" + n + ")", request -> (int) mpi.iallgather.invokeExact(Mpi.IN_PLACE, 0, t, buffer, n,
                t, mpi.commWorld, request));
    }

    @Override
    public void broadcast(MemorySegment buffer, long count, Element type, int root) {
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(count - done, Integer.MAX_VALUE / 8);
            MemorySegment piece = at(buffer, done, type);
            call("MPI_Ibcast(count=" + n + ", root=" + root + ")", request -> (int) mpi.ibcast.invokeExact(piece, n,
                    mpi.datatype(type), root, mpi.commWorld, request));
            done += n;
        }
    }

    @Override
    public void barrier() {
        call("MPI_Ibarrier", request -> (int) mpi.ibarrier.invokeExact(mpi.commWorld, request));
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

    /** The world lives as long as the process: see {@link #world()}. */
    @Override
    public void close() {}

    private void finalizeMpi() {
        // A collective still blocked at exit (a peer died) holds the lock: leave MPI to the launcher then.
        if (!lock.tryLock()) return;
        try {
            if (finalized) return;
            finalized = true;
            mpi.check((int) mpi.finalizeMpi.invokeExact(), "MPI_Finalize");
        } catch (Throwable t) {
            System.err.println("jgpt: " + t.getMessage());
        } finally {
            lock.unlock();
        }
    }

    /** Starts a non-blocking collective, writing its MPI_Request into {@code request}. */
    private interface Start {
        int invoke(MemorySegment request) throws Throwable;
    }

    /**
     * One collective at a time (MPI_THREAD_SERIALIZED): starts it, then polls MPI_Test, sleeping a little
     * longer each time up to 200 us, so that a rank waiting for its peers leaves the cores to the computing
     * threads instead of spinning on them.
     */
    private void call(String what, Start start) {
        lock.lock();
        try (Arena a = Arena.ofConfined()) {
            if (finalized) throw new IllegalStateException(what + " after MPI_Finalize");
            MemorySegment request = a.allocate(ADDRESS), flag = a.allocate(JAVA_INT);
            mpi.check(start.invoke(request), what);
            long pause = 1_000;
            while (true) {
                mpi.check((int) mpi.test.invokeExact(request, flag, Mpi.STATUS_IGNORE), "MPI_Test after " + what);
                if (flag.get(JAVA_INT, 0) != 0) return;
                LockSupport.parkNanos(pause);
                pause = Math.min(200_000, pause * 2);
            }
        } catch (Throwable t) {
            throw Mpi.rethrow(t);
        } finally {
            lock.unlock();
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
