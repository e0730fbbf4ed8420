package io.jgpt.dist;

import io.jgpt.JgptException;
import java.util.Map;

/**
 * Who this process is among the ranks of a job, read from the variables its launcher sets: Open MPI's
 * mpirun (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK), Slurm's srun (SLURM_PROCID, SLURM_NTASKS,
 * SLURM_LOCALID) or torchrun's names (RANK, WORLD_SIZE, LOCAL_RANK, with MASTER_ADDR and MASTER_PORT for the
 * NCCL id), in that order. Without any of them the process is a single rank.
 */
public record World(int rank, int size, int localRank, Launcher launcher, String masterAddress, int masterPort) {

    public enum Launcher { SINGLE, MPIRUN, SRUN, ENV }

    public static final World SINGLE = new World(0, 1, 0, Launcher.SINGLE, null, 0);

    public World {
        if (size < 1 || rank < 0 || rank >= size || localRank < 0) {
            throw new JgptException("launcher gave rank " + rank + " of " + size + " (local rank " + localRank
                    + "): need 0 <= rank < size");
        }
    }

    public static World fromEnvironment() {
        return from(System.getenv());
    }

    static World from(Map<String, String> env) {
        String addr = env.get("MASTER_ADDR");
        int port = env.containsKey("MASTER_PORT") ? number(env, "MASTER_PORT") : 0;
        if (env.containsKey("OMPI_COMM_WORLD_RANK")) {
            return new World(number(env, "OMPI_COMM_WORLD_RANK"), number(env, "OMPI_COMM_WORLD_SIZE"),
                    number(env, "OMPI_COMM_WORLD_LOCAL_RANK"), Launcher.MPIRUN, addr, port);
        }
        if (env.containsKey("SLURM_PROCID") && env.containsKey("SLURM_NTASKS")) {
            return new World(number(env, "SLURM_PROCID"), number(env, "SLURM_NTASKS"), number(env, "SLURM_LOCALID"),
                    Launcher.SRUN, addr, port);
        }
        if (env.containsKey("RANK") || env.containsKey("WORLD_SIZE")) {
            return new World(number(env, "RANK"), number(env, "WORLD_SIZE"),
                    env.containsKey("LOCAL_RANK") ? number(env, "LOCAL_RANK") : number(env, "RANK"), Launcher.ENV, addr, port);
        }
        return SINGLE;
    }

    private static int number(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null) throw new JgptException("the launcher set some rank variables but not " + name);
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new JgptException(name + "=" + v + " is not a number");
        }
    }
}
