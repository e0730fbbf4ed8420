package io.jgpt;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** The shared corpora (never copied into the project); tests that need one skip when it is absent. */
public final class SharedData {
    private static final Path[] DIRS = {Path.of("../shared/data"), Path.of("/work/shared/data")};

    private SharedData() {}

    public static Path file(String name) {
        for (Path dir : DIRS) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        Assumptions.abort(name + " not found in ../shared/data or /work/shared/data");
        throw new AssertionError("unreachable");
    }
}
