package io.jgpt.dist;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts {@code mpirun -np N java ... MainClass args} with this test JVM's Java and class path. Allows root
 * (CI runs as root) and oversubscription (CI has 2 cores). Without mpirun the test is skipped, except where
 * JGPT_REQUIRE_MPI is set (.ci/run installs Open MPI and sets it, so CI fails instead of skipping).
 */
public final class Mpirun {
    private Mpirun() {}

    public record Result(int exitCode, String output, long millis) {}

    public static void assumeAvailable() {
        boolean found = which("mpirun") != null && Mpi.available();
        if (!found && System.getenv("JGPT_REQUIRE_MPI") != null) {
            throw new AssertionError("JGPT_REQUIRE_MPI is set but mpirun or " + Mpi.LIBRARY + " is missing");
        }
        assumeTrue(found, "Open MPI (mpirun, " + Mpi.LIBRARY + ") is not installed: apt-get install openmpi-bin libopenmpi-dev");
    }

    static Path which(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** The command line; {@code mca} are extra mpirun arguments such as {@code --mca btl self,tcp}. */
    public static List<String> command(int ranks, List<String> mca, String mainClass, List<String> args) {
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of("mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np",
                Integer.toString(ranks)));
        cmd.addAll(mca);
        cmd.addAll(List.of("-x", "PATH", java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", cp, mainClass));
        cmd.addAll(args);
        return cmd;
    }

    /** Starts the command with its output going to {@code log}. */
    public static Process start(List<String> command, Path log) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    public static Result run(List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Path log = Files.createTempFile("mpirun", ".log");
        Process p = start(command, log);
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
        }
        String out = Files.readString(log);
        Files.deleteIfExists(log);
        return new Result(p.exitValue(), out, (System.nanoTime() - start) / 1_000_000);
    }
}
