package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** native-build/gpu-check.sh on a machine without a GPU: it must say so in its report and stop. */
class GpuCheckScriptTest {

    @TempDir
    Path out;

    @Test
    void dryRunWithoutAGpuReportsTheGpuAbsent() throws IOException, InterruptedException {
        Assumptions.assumeFalse(Files.exists(Path.of("/dev/nvidiactl")), "this machine has an NVIDIA GPU");
        ProcessBuilder pb = new ProcessBuilder("bash", "native-build/gpu-check.sh", "--dry-run")
                .redirectErrorStream(true).redirectOutput(out.resolve("console.txt").toFile());
        pb.environment().put("OUT", out.toString());
        Process p = pb.start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "gpu-check.sh --dry-run took over 20 s");
        assertEquals(3, p.exitValue(), Files.readString(out.resolve("console.txt")));
        String report = Files.readString(out.resolve("gpu-report.md"));
        assertTrue(report.contains("no NVIDIA GPU: stopping before GPU stages"), report);
    }
}
