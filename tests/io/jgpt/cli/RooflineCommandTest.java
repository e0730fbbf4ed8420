package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `jgpt roofline` draws the PNG from a recorded profile, as it will from the GPU check's profile-b64.jsonl
 * (whose runtime cannot draw): here from a CPU `bench --profile --json` line among lines that are not one.
 */
class RooflineCommandTest {

    @Test
    void drawsTheLastRecordedRooflineAndRefusesToOverwrite(@TempDir Path dir) throws Exception {
        CliRun bench = CliRun.of("bench", "--device", "cpu", "--threads", "1", "--model", "gpt2-small", "--n-layer", "1",
                "--n-head", "2", "--n-embd", "32", "--context", "16", "--vocab", "97", "--batch", "2", "--steps", "1",
                "--warmup", "1", "--max-warmup", "1", "--profile", "--trace", dir.resolve("t.json").toString(), "--json");
        assertEquals(0, bench.code(), bench.err());
        String json = bench.out().lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow();
        Path runs = dir.resolve("profile.jsonl");
        Files.writeString(runs, "{\"model\":\"gpt2-small\",\"error\":\"timed out\"}\n" + json + "\n{\"partly writ");
        Path png = dir.resolve("roofline.png");
        CliRun r = CliRun.of("roofline", "--from", runs.toString(), "--out", png.toString());
        assertEquals(0, r.code(), r.err());
        BufferedImage image = ImageIO.read(png.toFile());
        assertArrayEquals(new int[] {1000, 650}, new int[] {image.getWidth(), image.getHeight()});
        assertTrue(Files.size(png) > 10_000, "a drawn chart, not an empty image");

        CliRun again = CliRun.of("roofline", "--from", runs.toString(), "--out", png.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("already exists; give --overwrite"), again.err());
        assertEquals(0, CliRun.of("roofline", "--from", runs.toString(), "--out", png.toString(), "--overwrite").code());

        Path none = Files.writeString(dir.resolve("none.jsonl"), "{\"model\":\"gpt2-small\",\"error\":\"timed out\"}\n");
        CliRun missing = CliRun.of("roofline", "--from", none.toString(), "--out", dir.resolve("x.png").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("holds no JSON line with a roofline"), missing.err());
        assertTrue(Files.notExists(dir.resolve("x.png")));
    }
}
