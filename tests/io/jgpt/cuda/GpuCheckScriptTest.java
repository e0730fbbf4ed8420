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

    /** The report's training-step tables from recorded stage results (what the next GPU run will produce). */
    @Test
    void reportRendersTheStepBenchmarkFromItsResults(@TempDir Path work) throws IOException, InterruptedException {
        Files.writeString(work.resolve("stages.tsv"), "steps-small\t0\t90\t\n");
        Files.writeString(work.resolve("steps-small.jsonl"), String.join("\n",
                "{\"engine\":\"jgpt\",\"model\":\"gpt2-small\",\"mode\":\"tf32\",\"batch\":64,\"command\":\"bench b64\","
                        + "\"ms_per_step\":700.0,\"tokens_per_s\":93600.0,\"tflops_llmc\":83.9}",
                "{\"engine\":\"jgpt\",\"model\":\"gpt2-small\",\"mode\":\"fp32\",\"batch\":64,\"error\":\"jgpt: out of memory\"}"));
        Files.writeString(work.resolve("torch-peers.jsonl"),
                "{\"engine\":\"torch\",\"mode\":\"bf16\",\"model\":\"gpt2-small\",\"batch\":64,\"ms_per_step\":300.0,"
                        + "\"tokens_per_s\":187200.0}\n");
        Process p = new ProcessBuilder("python3", "native-build/gpu_report.py", work.toString(), out.toString())
                .redirectErrorStream(true).redirectOutput(out.resolve("console.txt").toFile()).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(out.resolve("console.txt")));
        String report = Files.readString(out.resolve("gpu-report.md"));
        assertTrue(report.contains("| 64 | jgpt | tf32 | 700.0 | 93,600 | 16.9 % | 1.00 |"), report);
        assertTrue(report.contains("| 64 | torch | bf16 | 300.0 | 187,200 | 17.0 % | 0.50 |"), report);
        assertTrue(report.contains("| 64 | jgpt | fp32 | - | - | - | jgpt: out of memory |"), report);
        assertTrue(report.contains("jgpt tf32 batch 64: 93,600 tokens/s = 0.17 of the 550,000 target"), report);
    }
}
