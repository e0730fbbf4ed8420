package io.jgpt.cuda.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Library search and failure reporting; the fake libraries here are never successfully loaded. */
class BlasLoaderTest {

    @TempDir
    Path tmp;

    private Path fakeLib(String dir, String name) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(dir));
        return Files.writeString(d.resolve(name), "not an ELF file");
    }

    @Test
    void searchOrderIsLdLibraryPathThenSystemThenWheelDirs() {
        var locator = new CublasLocator(Map.of("LD_LIBRARY_PATH", "/a::/b", "JGPT_CUBLAS_DIRS", "/w1:/a"),
                List.of(Path.of("/sys1"), Path.of("/b")));
        assertEquals(List.of(Path.of("/a"), Path.of("/b"), Path.of("/sys1"), Path.of("/w1")), locator.searchDirs());
    }

    @Test
    void newerVersionWinsThenDirectoryOrder() throws IOException {
        Path v12 = fakeLib("ld", "libcublas.so.12");
        Path v13wheel = fakeLib("wheel", "libcublas.so.13");
        Path v13sys = fakeLib("sys", "libcublas.so.13");
        fakeLib("sys", "libcublas.so.11");
        var locator = new CublasLocator(Map.of("LD_LIBRARY_PATH", tmp.resolve("ld").toString(),
                "JGPT_CUBLAS_DIRS", tmp.resolve("wheel").toString()), List.of(tmp.resolve("sys")));
        assertEquals(List.of(new CublasLocator.Candidate(v13sys, 13), new CublasLocator.Candidate(v13wheel, 13),
                new CublasLocator.Candidate(v12, 12)), locator.candidates());
    }

    @Test
    void explicitFileOverridesTheSearch() throws IOException {
        Path lib = fakeLib("x", "libcublas.so.13.1.0.3");
        fakeLib("sys", "libcublas.so.12");
        var locator = new CublasLocator(Map.of("JGPT_CUBLAS", lib.toString()), List.of(tmp.resolve("sys")));
        assertEquals(List.of(new CublasLocator.Candidate(lib, 13)), locator.candidates());
        var missing = new CublasLocator(Map.of("JGPT_CUBLAS", tmp.resolve("nope").toString()), List.of());
        assertTrue(assertThrows(IllegalStateException.class, missing::candidates).getMessage().contains("nope"));
    }

    @Test
    void errorNamesWhatWasSearchedWhenNothingIsFound() {
        var locator = new CublasLocator(Map.of(), List.of(tmp.resolve("empty")));
        for (String choice : List.of("auto", "ffm", "jcublas")) {
            var e = assertThrows(IllegalStateException.class, () -> BlasLoader.open(choice, locator));
            assertTrue(e.getMessage().contains(tmp.resolve("empty").toString()), e.getMessage());
            assertTrue(e.getMessage().contains("libcublas.so.[13, 12]"), e.getMessage());
        }
        assertTrue(BlasLoader.describe(locator).startsWith("cuBLAS: none found; searched "));
    }

    @Test
    void aFileThatIsNotALibraryIsReportedNotLoaded() throws IOException {
        Path lib = fakeLib("sys", "libcublas.so.13");
        var locator = new CublasLocator(Map.of(), List.of(tmp.resolve("sys")));
        var e = assertThrows(IllegalStateException.class, () -> BlasLoader.open("ffm", locator));
        assertTrue(e.getMessage().contains(lib + " did not load"), e.getMessage());
        assertEquals("cuBLAS: auto -> ffm with " + lib + "; found [" + lib + "]", BlasLoader.describe(locator));
    }

    @Test
    void unknownChoiceIsRejected() {
        var locator = new CublasLocator(Map.of(), List.of());
        assertThrows(IllegalArgumentException.class, () -> BlasLoader.open("cublasLt", locator));
    }
}
