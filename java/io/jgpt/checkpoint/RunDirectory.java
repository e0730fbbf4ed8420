package io.jgpt.checkpoint;

import io.jgpt.JgptException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The layout of a training run's output directory: {@code checkpoints/step-NNNNNNNN/} per saved step. */
public final class RunDirectory {
    public static final String CHECKPOINTS = "checkpoints";
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
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new JgptException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    public static Optional<Path> latestCheckpoint(Path run) {
        List<Path> all = checkpoints(run);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }
}
