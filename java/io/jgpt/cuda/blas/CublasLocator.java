package io.jgpt.cuda.blas;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds libcublas.so.N files without loading them, so the search can be tested (and reported by
 * {@code jgpt info}) on machines without CUDA. Newer major versions win; within a version the directories
 * are tried in this order: {@code LD_LIBRARY_PATH}, the CUDA toolkit, the distribution's library directory,
 * then {@code JGPT_CUBLAS_DIRS} (where a Python wheel such as nvidia-cublas keeps its copy).
 * {@code JGPT_CUBLAS}, an explicit file, overrides everything.
 */
final class CublasLocator {

    static final List<Integer> VERSIONS = List.of(13, 12);
    static final List<Path> SYSTEM_DIRS = List.of(Path.of("/usr/local/cuda/lib64"),
            Path.of("/usr/local/cuda/targets/x86_64-linux/lib"), Path.of("/usr/lib/x86_64-linux-gnu"));

    /** A library file found on disk, with the major version its name promises. */
    record Candidate(Path path, int version) {}

    private final Map<String, String> env;
    private final List<Path> systemDirs;

    CublasLocator(Map<String, String> env, List<Path> systemDirs) {
        this.env = env;
        this.systemDirs = systemDirs;
    }

    static CublasLocator system() {
        return new CublasLocator(System.getenv(), SYSTEM_DIRS);
    }

    /** The directories searched, in order, duplicates removed. */
    List<Path> searchDirs() {
        Set<Path> dirs = new LinkedHashSet<>();
        dirs.addAll(split(env.get("LD_LIBRARY_PATH")));
        dirs.addAll(systemDirs);
        dirs.addAll(split(env.get("JGPT_CUBLAS_DIRS")));
        return List.copyOf(dirs);
    }

    /** Every existing libcublas.so.N, best first. An explicit JGPT_CUBLAS must exist or this throws. */
    List<Candidate> candidates() {
        String explicit = env.get("JGPT_CUBLAS");
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit);
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("JGPT_CUBLAS=" + explicit + " is not a file");
            }
            return List.of(new Candidate(p, versionOf(p)));
        }
        List<Candidate> found = new ArrayList<>();
        for (int v : VERSIONS) {
            for (Path dir : searchDirs()) {
                Path p = dir.resolve("libcublas.so." + v);
                if (Files.isRegularFile(p)) found.add(new Candidate(p, v));
            }
        }
        return found;
    }

    /** What was searched, for error messages and {@code jgpt info}. */
    String searched() {
        String explicit = env.get("JGPT_CUBLAS");
        if (explicit != null && !explicit.isBlank()) return "JGPT_CUBLAS=" + explicit;
        return "libcublas.so." + VERSIONS + " in " + searchDirs()
                + " (set JGPT_CUBLAS to a file or JGPT_CUBLAS_DIRS to colon-separated directories)";
    }

    /** The N of a name like libcublas.so.13 or libcublas.so.13.0.2.9; 0 when the name has none. */
    static int versionOf(Path p) {
        String name = p.getFileName().toString();
        int at = name.indexOf(".so.");
        if (at < 0) return 0;
        String rest = name.substring(at + 4);
        int dot = rest.indexOf('.');
        try {
            return Integer.parseInt(dot < 0 ? rest : rest.substring(0, dot));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static List<Path> split(String pathList) {
        if (pathList == null || pathList.isBlank()) return List.of();
        List<Path> out = new ArrayList<>();
        for (String s : pathList.split(":")) if (!s.isBlank()) out.add(Path.of(s));
        return out;
    }
}
