package io.jgpt.cli;

import io.jgpt.JgptException;
import io.jgpt.dist.Communicator;
import io.jgpt.dist.MpiCommunicator;
import io.jgpt.dist.World;

/**
 * The ranks a {@code train} command runs on. One process needs nothing; CPU ranks started by mpirun (or
 * srun with Open MPI's PMIx) talk through MPI. Other rank sharing is refused with what to do instead.
 */
final class Ranks {
    private Ranks() {}

    /** Null for a single process; otherwise this rank's communicator. */
    static Communicator join(World world, String device) {
        if (world.size() == 1) return null;
        if (!device.equals("cpu")) {
            throw new JgptException("--device " + device + " with " + world.size() + " ranks: data-parallel training"
                    + " over NCCL is not wired into the trainer yet; run CPU ranks (--device cpu) under mpirun");
        }
        if (world.launcher() == World.Launcher.ENV) {
            throw new JgptException("RANK/WORLD_SIZE are set, but CPU ranks talk through MPI: launch them with"
                    + " mpirun -np " + world.size() + " ./jgpt train ... (or srun --mpi=pmix)");
        }
        MpiCommunicator comm = MpiCommunicator.world();
        if (comm.rank() != world.rank() || comm.size() != world.size()) {
            comm.close();
            throw new JgptException("MPI says rank " + comm.rank() + " of " + comm.size() + ", the launcher's variables say "
                    + world.rank() + " of " + world.size());
        }
        return comm;
    }

    /**
     * Ends every rank when this one cannot go on, so none waits for ever in a collective: prints the reason
     * and calls MPI_Abort with exit status 2 (what a user error exits with).
     */
    static void abortAll(Communicator comm, RuntimeException e) {
        if (comm instanceof MpiCommunicator mpi) {
            System.err.println("jgpt: rank " + comm.rank() + ": " + e.getMessage());
            System.err.flush();
            mpi.abort(2);
        }
    }
}
