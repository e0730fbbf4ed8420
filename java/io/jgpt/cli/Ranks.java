package io.jgpt.cli;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import io.jgpt.JgptException;
import io.jgpt.cuda.CudaDevice;
import io.jgpt.cuda.CudaOps;
import io.jgpt.dist.Communicator;
import io.jgpt.dist.DeviceIdentity;
import io.jgpt.dist.Element;
import io.jgpt.dist.MpiCommunicator;
import io.jgpt.dist.NcclCommunicator;
import io.jgpt.dist.NcclIdRendezvous;
import io.jgpt.dist.SideStream;
import io.jgpt.dist.World;
import io.jgpt.model.ParameterArena;
import io.jgpt.ops.Ops;
import io.jgpt.train.DataParallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;

/**
 * The ranks a {@code train} command runs on. One process needs nothing. CPU ranks started by mpirun (or
 * srun with Open MPI's PMIx) talk through MPI. GPU ranks talk through NCCL, each on cuda:$LOCAL_RANK; NCCL's
 * id travels by MPI_Bcast when mpirun or srun started them, or from rank 0 over TCP (MASTER_ADDR,
 * MASTER_PORT) when torchrun-style variables did (as {@code jgpt train --nproc} sets them).
 */
final class Ranks implements AutoCloseable {

    /** The communicator the gradients go through; {@code mpi} is the launcher's world where there is one. */
    private final Communicator comm;
    private final MpiCommunicator mpi;
    private final SideStream stream;

    private Ranks(Communicator comm, MpiCommunicator mpi, SideStream stream) {
        this.comm = comm;
        this.mpi = mpi;
        this.stream = stream;
    }

    /** The device this rank opens: {@code cuda} is cuda:$LOCAL_RANK when several ranks share the job. */
    static String device(World world, String device) {
        if (world.size() == 1 || device.equals("cpu")) return device;
        if (!device.equals("cuda")) {
            throw new JgptException("--device " + device + " with " + world.size() + " ranks: each rank uses cuda:$LOCAL_RANK"
                    + " of its machine; give --device cuda");
        }
        return "cuda:" + world.localRank();
    }

    /** Null for a single process; otherwise this rank's communicator, on the backend {@code ops} opened. */
    static Ranks join(World world, Ops ops, Duration timeout) {
        if (world.size() == 1) return null;
        if (!(ops instanceof CudaOps cuda)) {
            if (world.launcher() == World.Launcher.ENV) {
                throw new JgptException("RANK/WORLD_SIZE are set, but CPU ranks talk through MPI: launch them with"
                        + " mpirun -np " + world.size() + " ./jgpt train ... (or srun --mpi=pmix, or jgpt train --nproc)");
            }
            MpiCommunicator mpi = mpiWorld(world);
            return new Ranks(mpi, mpi, null);
        }
        MpiCommunicator mpi = world.launcher() == World.Launcher.ENV ? null : mpiWorld(world);
        if (mpi != null) {
            DeviceIdentity.exchangeAndCheck(mpi, DeviceIdentity.of(CudaDevice.busId(world.localRank())), world.localRank());
        }
        byte[] id = world.rank() == 0 ? NcclCommunicator.uniqueId() : null;
        id = mpi != null ? broadcast(mpi, id) : rendezvous(world, id, timeout);
        SideStream stream = cuda.communicationStream();
        try {
            return new Ranks(NcclCommunicator.join(id, world.rank(), world.size(), stream, timeout), mpi, stream);
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
    }

    private static MpiCommunicator mpiWorld(World world) {
        MpiCommunicator comm = MpiCommunicator.world();
        if (comm.rank() != world.rank() || comm.size() != world.size()) {
            throw new JgptException("MPI says rank " + comm.rank() + " of " + comm.size() + ", the launcher's variables say "
                    + world.rank() + " of " + world.size());
        }
        return comm;
    }

    /** Rank 0's NCCL id to every rank through MPI. */
    private static byte[] broadcast(MpiCommunicator mpi, byte[] id) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(NcclCommunicator.ID_BYTES);
            if (id != null) MemorySegment.copy(id, 0, s, JAVA_BYTE, 0, id.length);
            mpi.broadcast(s, NcclCommunicator.ID_BYTES, Element.BYTE, 0);
            return s.toArray(JAVA_BYTE);
        }
    }

    /** Rank 0's NCCL id to every rank over TCP (torchrun's MASTER_ADDR and MASTER_PORT). */
    private static byte[] rendezvous(World world, byte[] id, Duration timeout) {
        if (world.masterAddress() == null || world.masterPort() == 0) {
            throw new JgptException("RANK/WORLD_SIZE are set without MASTER_ADDR and MASTER_PORT: rank 0's address is"
                    + " needed to hand NCCL's id to the other ranks");
        }
        if (world.rank() == 0) {
            NcclIdRendezvous.serve(id, world.masterAddress(), world.masterPort(), world.size(), timeout);
            return id;
        }
        return NcclIdRendezvous.fetch(world.masterAddress(), world.masterPort(), NcclCommunicator.ID_BYTES, timeout);
    }

    int rank() {
        return comm.rank();
    }

    /** Data parallelism over this rank's communicator: on the host lane for MPI, on the side stream for NCCL. */
    DataParallel parallel(ParameterArena arena, long bucketBytes) {
        return stream == null ? new DataParallel(comm, arena, bucketBytes) : new DataParallel(comm, arena, bucketBytes, stream);
    }

    /**
     * Ends every rank when this one cannot go on, so none waits for ever in a collective: prints the reason
     * and, under mpirun, calls MPI_Abort with exit status 2 (what a user error exits with). NCCL ranks of a
     * torchrun-style launch see the communicator fail or time out, and {@code --nproc} ends them.
     */
    void abortAll(RuntimeException e) {
        if (mpi == null) return;
        System.err.println("jgpt: rank " + comm.rank() + ": " + e.getMessage());
        System.err.flush();
        mpi.abort(2);
    }

    @Override
    public void close() {
        comm.close();
    }
}
