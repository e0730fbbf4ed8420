package io.jgpt.checkpoint;

import io.jgpt.JgptException;
import io.jgpt.io.AtomicDirectory;
import io.jgpt.io.IoErrors;
import io.jgpt.train.LossPlot;
import io.jgpt.train.MetricsLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The layout of a training run's output directory: {@code checkpoints/step-NNNNNNNN/} per saved step,
 * {@code metrics.jsonl}, {@code loss.png} and (with --profile) {@code trace.json}; and the rule that one
 * directory never holds two runs.
 */
public final class RunDirectory {
    public static final String CHECKPOINTS = "checkpoints";
    public static final String TRACE = "trace.json";
    /** What a run writes at the top of its directory: what --overwrite removes, and nothing else. */
    static final List<String> RUN_FILES = List.of(CHECKPOINTS, MetricsLog.FILE, LossPlot.FILE, TRACE);
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d+)");

    private RunDirectory() {}

    public static Path checkpointDir(Path run, long step) {
        return run.resolve(CHECKPOINTS).resolve(String.format("step-%08d", step));
    }

    /** Complete checkpoints, oldest first (temporary directories of an interrupted save are not listed). */
    public static List<Path> checkpoints(Path run) {
        Path dir = run.resolve(CHECKPOINTS);
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> STEP_DIR.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(RunDirectory::step))
                    .toList();
        } catch (IOException e) {
            throw new JgptException("cannot list " + dir + ": " + IoErrors.reason(e), e);
        }
    }

    public static Optional<Path> latestCheckpoint(Path run) {
        List<Path> all = checkpoints(run);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    /** The step a {@code step-N} checkpoint directory was saved at. */
    static long step(Path checkpoint) {
        Matcher m = STEP_DIR.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException(checkpoint + " is not a step-N checkpoint directory");
        return Long.parseLong(m.group(1));
    }

    /**
     * Checks, before anything is written, that {@code out} may receive a run: it must be new or empty,
     * or hold the very run being resumed (from its newest checkpoint), or {@code overwrite} was given.
     *
     * @param resumed the checkpoint directory being resumed from, or null
     * @param resumable whether the command can resume (train can, demo cannot): only then is --resume suggested
     */
    public static void checkOutput(Path out, Path resumed, boolean overwrite, boolean resumable) {
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new JgptException("--out " + out + " is a file, not a directory");
        }
        boolean resumingHere = resumed != null && isCheckpointOf(resumed, out);
        if (resumingHere && overwrite) {
            throw new JgptException("--overwrite would delete " + resumed + ", the checkpoint --resume continues from");
        }
        if (resumingHere) {
            Path newest = latestCheckpoint(out).orElseThrow();
            if (!newest.toAbsolutePath().normalize().equals(resumed.toAbsolutePath().normalize())) {
                throw new JgptException("--resume " + resumed + " is not the newest checkpoint of " + out + " (" + newest.getFileName()
                        + " is): resume from it, or give another --out so the newer checkpoints stay as they are");
            }
            return;
        }
        List<String> contents = contents(out);
        if (contents.isEmpty() || overwrite) return;
        boolean holdsRun = contents.stream().anyMatch(RUN_FILES::contains);
        String listed = String.join(", ", contents.subList(0, Math.min(3, contents.size()))) + (contents.size() > 3 ? ", …" : "");
        throw new JgptException(holdsRun
                ? "--out " + out + " already holds a run (" + listed + "); " + (resumable ? "continue it with --resume " + out + ", " : "")
                        + "start over with --overwrite (deletes its checkpoints, metrics and plot), or choose another --out"
                : "--out " + out + " is not empty (" + listed + "); choose a new or empty directory, or give --overwrite"
                        + " to write the run there anyway (only " + String.join(", ", RUN_FILES) + " are replaced)");
    }

    /** Removes what an earlier run wrote into {@code out} (see {@link #RUN_FILES}); other files stay. */
    public static void clear(Path out) {
        for (String name : RUN_FILES) {
            Path p = out.resolve(name);
            try {
                if (Files.isDirectory(p)) AtomicDirectory.delete(p);
                else Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new JgptException("cannot remove " + p + ": " + IoErrors.reason(e), e);
            }
        }
    }

    private static boolean isCheckpointOf(Path checkpoint, Path run) {
        Path parent = checkpoint.toAbsolutePath().normalize().getParent();
        return parent != null && parent.equals(run.resolve(CHECKPOINTS).toAbsolutePath().normalize());
    }

    private static List<String> contents(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new JgptException("cannot list " + dir + ": " + IoErrors.reason(e), e);
        }
    }
}
