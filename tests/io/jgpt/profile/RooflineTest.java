package io.jgpt.profile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.Main;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The roofline of a profile: points from declared bytes and flops, roofs from peaks or from the best measured. */
class RooflineTest {

    private static Profiler.Stat stat(String name, double micros, double bytes, double flops) {
        Profiler.Stat s = new Profiler.Stat(name);
        s.calls = 1;
        s.totalMicros = micros;
        s.bytes = bytes;
        s.flops = flops;
        return s;
    }

    @Test
    void pointsAndRoofsFollowTheDeclaredCosts() {
        // gemm: 2e9 flops, 1e7 bytes in 1 ms: 2 TFLOP/s at 200 FLOP/B; add: 1e6 flops, 1.2e7 bytes in 0.5 ms.
        List<Profiler.Stat> stats = List.of(stat("gemm", 1000, 1e7, 2e9), stat("add", 500, 1.2e7, 1e6),
                stat("zero", 10, 4e3, 0));
        Roofline r = Roofline.of(new ProfileReport(stats, new ProfileReport.Peaks(100, 10)), new ProfileReport.Peaks(100, 10));
        assertEquals(List.of("gemm", "add"), r.points().stream().map(Roofline.Point::name).toList(), "spans without flops have no point");
        Roofline.Point gemm = r.points().getFirst(), add = r.points().get(1);
        assertEquals(200, gemm.intensity(), 1e-9);
        assertEquals(2, gemm.tflops(), 1e-12);
        assertEquals(0.2, gemm.share(), 1e-12, "compute-bound: 2 of 10 TFLOP/s");
        assertEquals(1e6 / 1.2e7, add.intensity(), 1e-12);
        assertEquals(2e-3 / (100 * add.intensity() / 1e3), add.share(), 1e-9, "memory-bound: under the bandwidth slope");
        assertEquals(100, r.ridge(), 1e-9);
        assertTrue(!r.measuredRoof());
        // Without peaks (the CPU) the roof is the best measured bandwidth and rate.
        Roofline m = Roofline.of(new ProfileReport(stats, ProfileReport.Peaks.NONE), ProfileReport.Peaks.NONE);
        assertTrue(m.measuredRoof());
        assertEquals(2, m.peakTflops(), 1e-12);
        assertEquals(24, m.bandwidthGbs(), 1e-9);
    }

    /** The CPU profiler's own ops, drawn by `jgpt bench --profile --roofline` into a PNG. */
    @Test
    void benchDrawsTheRooflineOfTheCpuProfile(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("roofline.png");
        int code = Main.run("bench", "--device", "cpu", "--threads", "1", "--model", "gpt2-small",
                "--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--context", "16", "--vocab", "97", "--batch", "2",
                "--steps", "1", "--warmup", "1", "--max-warmup", "1", "--profile", "--trace", dir.resolve("t.json").toString(),
                "--roofline", png.toString(), "--json");
        assertEquals(0, code);
        BufferedImage image = ImageIO.read(png.toFile());
        assertArrayEquals(new int[] {1000, 650}, new int[] {image.getWidth(), image.getHeight()});
        assertTrue(Files.size(png) > 10_000, "a drawn chart, not an empty image");
    }
}
