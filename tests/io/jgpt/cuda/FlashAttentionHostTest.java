package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tests/native/flash_attention_host_test.cu, compiled for the host with nvcc and run: the __host__ __device__
 * geometry, channel interleave, tile schedules and index maps of kernels/flash_attention.cuh as the kernels call
 * them, the bf16 kernels' mma and ldmatrix maps, tile schedules and shared memory, and the geometry it prints against
 * {@link FlashGeometry}, the host side CudaOps launches with. Skipped where there is no nvcc.
 */
class FlashAttentionHostTest {

    @Test
    void headerHelpersPassTheirHostChecksAndAgreeWithFlashGeometry(@TempDir Path tmp) throws Exception {
        String nvcc = KernelCompileTest.findNvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc not found (set NVCC or put it on PATH): host checks not run");
        Path exe = tmp.resolve("flash_attention_host_test");
        String log = run(List.of(nvcc, "-std=c++17", "-Ikernels", "-o", exe.toString(),
                "tests/native/flash_attention_host_test.cu"), 0, "nvcc");
        String out = run(List.of(exe.toString()), 0, "host checks");
        assertTrue(out.contains("all host checks passed"), log + out);

        int lines = 0;
        for (String line : out.split("\n")) {
            if (!line.startsWith("geometry ")) continue;
            lines++;
            String[] f = line.split(" ");
            int hs = Integer.parseInt(f[1]), group = Integer.parseInt(f[2]);
            assertEquals(FlashGeometry.group(hs), group, line);
            if (group == 0) {
                assertThrows(IllegalArgumentException.class, () -> FlashGeometry.of("test", 1, 1, 1, hs), line);
                continue;
            }
            FlashGeometry g = FlashGeometry.of("test", 3, 100, 5, hs);
            assertEquals(Integer.parseInt(f[3]), g.rows(), line);
            assertEquals(FlashGeometry.DIMS_PER_THREAD * group, Integer.parseInt(f[4]), line);
            assertEquals(Integer.parseInt(f[5]), g.forwardShared(), line);
            assertEquals(Integer.parseInt(f[6]), g.dkdvShared(), line);
            assertEquals(3 * 5 * Math.ceilDiv(100, g.rows()), g.blocks(), line);
        }
        assertTrue(lines >= 5, out);

        String mma = out.lines().filter(l -> l.startsWith("mma-geometry ")).findFirst().orElseThrow();
        String[] f = mma.split(" ");
        assertEquals(FlashGeometry.MMA_ROWS, Integer.parseInt(f[1]), mma);
        assertEquals(FlashGeometry.MMA_HEAD, Integer.parseInt(f[2]), mma);
        Launch bf16 = FlashGeometry.bf16("test", 3, 100, 5, 64, null);
        assertEquals(3 * 5 * Integer.parseInt(f[3]), bf16.gridX(), mma);
        assertEquals(FlashGeometry.THREADS, bf16.blockX(), mma);
        assertEquals(0, bf16.sharedBytes(), "the bf16 kernels' shared memory is static: " + mma);
    }

    /** native-build/flash_attention_check.cu, the binary of gpu-check's flash stages, compiles against the kernels. */
    @Test
    void standaloneCheckCompiles(@TempDir Path tmp) throws Exception {
        String nvcc = KernelCompileTest.findNvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc not found (set NVCC or put it on PATH): check binary not compiled");
        run(List.of(nvcc, "-std=c++17", "-Ikernels", "-gencode", "arch=compute_80,code=sm_80", "-c", "-o",
                tmp.resolve("flash_attention_check.o").toString(), "native-build/flash_attention_check.cu"), 0, "nvcc");
    }

    private static String run(List<String> command, int expected, String what) throws Exception {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), what + " timed out");
        assertEquals(expected, p.exitValue(), what + " failed:\n" + out);
        return out;
    }
}
