package io.jgpt.cli;

import io.jgpt.JgptException;
import io.jgpt.Main;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code jgpt train --nproc N}: starts N ranks of the same command on this machine and supervises them.
 *
 * <p>GPU ranks are N child JVMs with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR
 * 127.0.0.1, MASTER_PORT a free port): each takes cuda:$LOCAL_RANK and NCCL's id comes over the TCP
 * rendezvous, so nothing else is needed. CPU ranks talk through MPI, whose world only an MPI launcher can
 * form (a process started alone is a world of one), so the CPU path runs the command under
 * {@code mpirun -np N} instead.
 *
 * <p>Either way the children run in a session of their own ({@code setsid}), so a terminal's Ctrl-C reaches
 * this process alone, and it forwards SIGINT and SIGTERM to each child once as SIGTERM, which every jgpt rank
 * handles like Ctrl-C (a second signal quits at once, as for one process). It exits with the first non-zero
 * status a child ends with, after stopping the others: SIGTERM, then SIGKILL after {@link #GRACE_SECONDS}
 * (checkpoints are atomic, so a kill never leaves a half-written one).
 */
final class RankLauncher {
    private RankLauncher() {}

    static final int GRACE_SECONDS = 20;
    private static final List<Signal> SIGNALS = List.of(new Signal("INT"), new Signal("TERM"));

    /** The command line again without {@code --nproc N} (or {@code --nproc=N}). */
    static List<String> withoutNproc(List<String> args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--nproc")) i++;
            else if (!a.startsWith("--nproc=")) out.add(a);
        }
        return out;
    }

    /** This JVM's java, its options and class path, and the main class: how to start one more jgpt. */
    static List<String> java() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        return cmd;
    }

    /** The mpirun command that starts {@code n} CPU ranks of {@code jgpt} (args start with the subcommand). */
    static List<String> mpirun(int n, List<String> jgpt) {
        List<String> cmd = new ArrayList<>(List.of("mpirun", "-np", Integer.toString(n), "--bind-to", "none"));
        if (n > Runtime.getRuntime().availableProcessors()) cmd.add("--oversubscribe");
        // Open MPI refuses root unless told; whoever runs jgpt as root has chosen to.
        if ("root".equals(System.getProperty("user.name"))) cmd.add("--allow-run-as-root");
        cmd.addAll(java());
        cmd.addAll(jgpt);
        return cmd;
    }

    /** The variables rank {@code rank} of {@code n} GPU ranks gets (torchrun's names). */
    static Map<String, String> torchrunVariables(int rank, int n, int port) {
        return Map.of("RANK", Integer.toString(rank), "WORLD_SIZE", Integer.toString(n), "LOCAL_RANK", Integer.toString(rank),
                "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port));
    }

    /** Runs {@code n} CPU ranks under mpirun; returns the job's exit status. */
    static int cpu(int n, List<String> jgpt) {
        if (!onPath("mpirun")) {
            throw new JgptException("--nproc on the CPU starts its ranks with Open MPI's mpirun, which is not installed"
                    + " (apt-get install openmpi-bin libopenmpi-dev)");
        }
        return supervise(List.of(start(mpirun(n, jgpt), Map.of())));
    }

    /** Runs {@code n} GPU ranks as child JVMs; returns the first non-zero exit status, or 0. */
    static int gpu(int n, List<String> jgpt) {
        int port = freePort();
        List<String> cmd = new ArrayList<>(java());
        cmd.addAll(jgpt);
        List<Process> ranks = new ArrayList<>();
        try {
            for (int r = 0; r < n; r++) ranks.add(start(cmd, torchrunVariables(r, n, port)));
        } catch (RuntimeException e) {
            ranks.forEach(Process::destroyForcibly);
            throw e;
        }
        return supervise(ranks);
    }

    private static Process start(List<String> command, Map<String, String> env) {
        List<String> cmd = new ArrayList<>();
        if (onPath("setsid")) cmd.add("setsid"); // out of the terminal's process group: signals come from here only
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().putAll(env);
        try {
            return pb.start();
        } catch (IOException e) {
            throw new JgptException("cannot start " + command.getFirst() + ": " + e.getMessage());
        }
    }

    /**
     * Waits for every child; forwards SIGINT/SIGTERM to them as SIGTERM; when one fails, stops the others.
     * Returns the first non-zero exit status seen, or 0 when all succeeded.
     */
    static int supervise(List<Process> children) {
        SignalHandler forward = s -> children.forEach(Process::destroy);
        List<SignalHandler> previous = SIGNALS.stream().map(s -> Signal.handle(s, forward)).toList();
        try {
            int status = 0;
            List<Process> running = new ArrayList<>(children);
            long killAt = Long.MAX_VALUE;
            while (!running.isEmpty()) {
                for (Process p : List.copyOf(running)) {
                    if (p.isAlive()) continue;
                    running.remove(p);
                    if (p.exitValue() != 0 && status == 0) {
                        status = p.exitValue();
                        running.forEach(Process::destroy);
                        killAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(GRACE_SECONDS);
                    }
                }
                if (System.nanoTime() > killAt) running.forEach(Process::destroyForcibly);
                if (!running.isEmpty()) running.getFirst().waitFor(100, TimeUnit.MILLISECONDS);
            }
            return status;
        } catch (InterruptedException e) {
            children.forEach(Process::destroyForcibly);
            Thread.currentThread().interrupt();
            return CtrlC.EXIT_CODE;
        } finally {
            for (int i = 0; i < SIGNALS.size(); i++) Signal.handle(SIGNALS.get(i), previous.get(i));
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new JgptException("no free TCP port on 127.0.0.1 for the ranks' rendezvous: " + e.getMessage());
        }
    }
}
