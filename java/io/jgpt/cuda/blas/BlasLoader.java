package io.jgpt.cuda.blas;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses and opens a cuBLAS binding. "auto" prefers JCublas2 when a libcublas.so.12 is found (its JNI
 * library needs exactly that version) and otherwise uses the FFM binding with the newest libcublas found;
 * "jcublas" and "ffm" force one. See {@link CublasLocator} for where libraries are looked for.
 */
public final class BlasLoader {

    private static final Logger log = LoggerFactory.getLogger(BlasLoader.class);

    private BlasLoader() {}

    /**
     * Opens a binding in the current CUDA context.
     * @param choice "auto", "jcublas" or "ffm"
     * @throws IllegalStateException when no usable libcublas is found, naming what was searched
     */
    public static Blas open(String choice) {
        return open(choice, CublasLocator.system());
    }

    static Blas open(String choice, CublasLocator locator) {
        List<CublasLocator.Candidate> found = locator.candidates();
        List<String> failures = new ArrayList<>();
        switch (choice) {
            case "jcublas" -> {
                Blas b = tryJCublas(found, failures);
                if (b != null) return b;
            }
            case "ffm" -> {
                Blas b = tryFfm(found, failures);
                if (b != null) return b;
            }
            case "auto" -> {
                Blas b = found.stream().anyMatch(c -> c.version() == 12) ? tryJCublas(found, failures) : null;
                if (b == null) b = tryFfm(found, failures);
                if (b != null) return b;
            }
            default -> throw new IllegalArgumentException("cuBLAS binding must be auto, jcublas or ffm: " + choice);
        }
        throw new IllegalStateException("no usable cuBLAS for '" + choice + "': searched " + locator.searched()
                + (failures.isEmpty() ? "; nothing found" : "; " + String.join("; ", failures)));
    }

    /** Which libcublas {@code open("auto")} would use and why, from the file search alone (loads nothing). */
    public static String describe() {
        return describe(CublasLocator.system());
    }

    static String describe(CublasLocator locator) {
        List<CublasLocator.Candidate> found;
        try {
            found = locator.candidates();
        } catch (IllegalStateException e) {
            return "cuBLAS: " + e.getMessage();
        }
        if (found.isEmpty()) return "cuBLAS: none found; searched " + locator.searched();
        CublasLocator.Candidate v12 = found.stream().filter(c -> c.version() == 12).findFirst().orElse(null);
        String pick = v12 != null
                ? "jcublas2 with " + v12.path() + " (ffm with " + found.getFirst().path() + " if JCublas2 fails to link)"
                : "ffm with " + found.getFirst().path();
        return "cuBLAS: auto -> " + pick + "; found " + found.stream().map(c -> c.path().toString()).toList();
    }

    private static Blas tryJCublas(List<CublasLocator.Candidate> found, List<String> failures) {
        try {
            // Loading the located libcublas.so.12 first lets JCublas2's JNI library link against it even
            // when its directory is not on the loader's search path.
            found.stream().filter(c -> c.version() == 12).findFirst().ifPresent(c -> FfmCublas.load(c.path()));
            Blas b = new JCublasBlas();
            log.info("cuBLAS binding: jcublas2");
            return b;
        } catch (LinkageError | IllegalArgumentException e) {
            failures.add("JCublas2 did not link: " + e);
            log.debug("JCublas2 unavailable", e);
            return null;
        }
    }

    private static Blas tryFfm(List<CublasLocator.Candidate> found, List<String> failures) {
        for (CublasLocator.Candidate c : found) {
            try {
                Blas b = new FfmCublas(c.path());
                log.info("cuBLAS binding: ffm with {}", c.path());
                return b;
            } catch (IllegalArgumentException e) {
                // SymbolLookup.libraryLookup reports a library that dlopen rejects this way.
                failures.add(c.path() + " did not load: " + e.getMessage());
            }
        }
        return null;
    }
}
