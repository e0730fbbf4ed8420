package io.jgpt.dist;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.jgpt.JgptException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;

/**
 * An NCCL communicator over device buffers, its collectives queued on one CUDA stream. Waiting for them
 * ({@link #barrier()}) polls the stream and NCCL's asynchronous error state instead of blocking, so a peer
 * that died (NCCL reports a remote or system error) or a collective that never completes (the timeout)
 * aborts the communicator with {@code ncclCommAbort} and fails this rank instead of hanging it.
 */
public final class NcclCommunicator implements Communicator {

    private final Nccl nccl;
    private final int rank, size;
    private final DeviceStream stream;
    private final MemorySegment comm;
    private final Duration timeout;
    private boolean closed;

    private NcclCommunicator(Nccl nccl, int rank, int size, DeviceStream stream, MemorySegment comm, Duration timeout) {
        this.nccl = nccl;
        this.rank = rank;
        this.size = size;
        this.stream = stream;
        this.comm = comm;
        this.timeout = timeout;
    }

    /** Bytes of NCCL's unique id. */
    public static final int ID_BYTES = Nccl.UNIQUE_ID_BYTES;

    /** A fresh 128-byte id: made on rank 0 and handed to every rank (MPI_Bcast or {@link NcclIdRendezvous}). */
    public static byte[] uniqueId() {
        return Nccl.get().uniqueId();
    }

    /**
     * Joins the communicator of {@code size} ranks named by {@code id}; the calling thread's current CUDA
     * context must be the device this rank uses. Two ranks on one GPU are refused (NCCL detects them).
     */
    public static NcclCommunicator join(byte[] id, int rank, int size, DeviceStream stream, Duration timeout) {
        if (id.length != Nccl.UNIQUE_ID_BYTES) {
            throw new IllegalArgumentException("an NCCL id has " + Nccl.UNIQUE_ID_BYTES + " bytes, got " + id.length);
        }
        Nccl nccl = Nccl.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            MemorySegment idValue = a.allocate(Nccl.UNIQUE_ID);
            idValue.copyFrom(MemorySegment.ofArray(id));
            int result = (int) nccl.commInitRank.invokeExact(out, size, idValue, rank);
            if (result == 5) { // ncclInvalidUsage: NCCL's verdict on two ranks sharing a GPU, among others
                throw new JgptException("NCCL refused rank " + rank + " of " + size + ": " + nccl.errorString(result)
                        + " (two ranks on one GPU? each rank must use cuda:$LOCAL_RANK of its own machine)");
            }
            nccl.check(result, "ncclCommInitRank(nranks=" + size + ", rank=" + rank + ")");
            return new NcclCommunicator(nccl, rank, size, stream, out.get(ADDRESS, 0), timeout);
        } catch (Throwable t) {
            throw Nccl.rethrow(t);
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
        return Memory.DEVICE;
    }

    @Override
    public String describe() {
        int v = nccl.version();
        return "nccl " + v / 10000 + "." + v / 100 % 100 + "." + v % 100 + " (" + nccl.library + ")";
    }

    @Override
    public void allReduceSum(MemorySegment buffer, long count, Element type) {
        call("ncclAllReduce(count=" + count + ")", () -> (int) nccl.allReduce.invokeExact(buffer, buffer, count,
                Nccl.datatype(type), Nccl.SUM, comm, stream()));
    }

    @Override
    public void reduceScatterSum(MemorySegment send, MemorySegment recv, long recvCount, Element type) {
        call("ncclReduceScatter(recvcount=" + recvCount + ")", () -> (int) nccl.reduceScatter.invokeExact(send, recv,
                recvCount, Nccl.datatype(type), Nccl.SUM, comm, stream()));
    }

    @Override
    public void allGather(MemorySegment buffer, long chunkCount, Element type) {
        // In place as NCCL defines it: this rank's input is its own chunk of the output.
        MemorySegment own = MemorySegment.ofAddress(buffer.address() + rank * chunkCount * type.bytes());
        call("ncclAllGather(sendcount=" + chunkCount + ")", () -> (int) nccl.allGather.invokeExact(own, buffer,
                chunkCount, Nccl.datatype(type), comm, stream()));
    }

    @Override
    public void broadcast(MemorySegment buffer, long count, Element type, int root) {
        call("ncclBroadcast(count=" + count + ", root=" + root + ")", () -> (int) nccl.broadcast.invokeExact(buffer,
                buffer, count, Nccl.datatype(type), root, comm, stream()));
    }

    /** All-reduces a one-element token, then waits (with the timeout) until the stream has drained. */
    @Override
    public void barrier() {
        allReduceSum(stream.scratch(), 1, Element.F32);
        await();
    }

    /** Waits until this stream's queued work is done, failing on an NCCL error or after the timeout. */
    @Override
    public void await() {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment async = a.allocate(JAVA_INT);
            while (!stream.idle()) {
                nccl.check((int) nccl.commGetAsyncError.invokeExact(comm, async), "ncclCommGetAsyncError");
                int error = async.get(JAVA_INT, 0);
                if (error != Nccl.SUCCESS && error != Nccl.IN_PROGRESS) {
                    abort();
                    throw new JgptException("rank " + rank + ": NCCL failed asynchronously: "
                            + Nccl.RESULTS.getOrDefault(error, "" + error) + " (" + nccl.errorString(error)
                            + "); a peer rank probably died");
                }
                if (System.nanoTime() > deadline) {
                    abort();
                    throw new JgptException("rank " + rank + ": an NCCL collective did not finish within "
                            + timeout.toSeconds() + " s; aborted the communicator (a peer rank stopped?)");
                }
                Thread.onSpinWait();
            }
        } catch (Throwable t) {
            throw Nccl.rethrow(t);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            nccl.check((int) nccl.commDestroy.invokeExact(comm), "ncclCommDestroy");
        } catch (Throwable t) {
            throw Nccl.rethrow(t);
        }
    }

    private void abort() throws Throwable {
        if (closed) return;
        closed = true;
        int ignored = (int) nccl.commAbort.invokeExact(comm);
    }

    private MemorySegment stream() {
        return MemorySegment.ofAddress(stream.handle());
    }

    private interface NcclCall {
        int invoke() throws Throwable;
    }

    private void call(String what, NcclCall c) {
        if (closed) throw new IllegalStateException("NCCL communicator already closed or aborted");
        try {
            nccl.check(c.invoke(), what);
        } catch (Throwable t) {
            throw Nccl.rethrow(t);
        }
    }
}
