package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
                        + "\"tokens_per_s\":187200.0}\n"
                        + "{\"engine\":\"torch\",\"mode\":\"tf32\",\"model\":\"gpt2-small\",\"batch\":64,\"ms_per_step\":546.1,"
                        + "\"tokens_per_s\":120000.0}\n");
        String report = renderReport(work);
        assertTrue(report.contains("| 64 | jgpt | tf32 | 700.0 | 93,600 | 16.9 % | 1.00 |"), report);
        assertTrue(report.contains("| 64 | torch | bf16 | 300.0 | 187,200 | 17.0 % | 0.50 |"), report);
        assertTrue(report.contains("| 64 | jgpt | fp32 | - | - | - | jgpt: out of memory |"), report);
        assertTrue(report.contains("jgpt tf32 batch 64: 93,600 tokens/s = 0.17 of the 550,000 target** (0.50x torch bf16; 0.78x torch tf32)"),
                report);
        assertTrue(report.contains("- batch 64: tf32 / tf32 0.78"), report);
    }

    /**
     * The budget: the stages guaranteed their seconds (the verification and the headline table) fit, with every
     * stage that runs before the first of them at its full limit, inside the script's deadline, which stays under
     * the 8 minutes the GPU machine gives the check; each guaranteed stage exists, and all of them run before any
     * stage that is only run while time lasts.
     */
    @Test
    void guaranteedStagesFitTheDeadlineAndRunFirst() throws IOException {
        String script = Files.readString(Path.of("native-build/gpu-check.sh"));
        Matcher d = Pattern.compile("deadline=\\$\\(\\(SECONDS \\+ (\\d+)\\)\\)").matcher(script);
        assertTrue(d.find(), "no deadline in gpu-check.sh");
        int deadline = Integer.parseInt(d.group(1));
        assertTrue(deadline <= 450, "deadline " + deadline + " s leaves no room for the report inside 8 minutes");
        Matcher r = Pattern.compile("declare -A reserve=\\(([^)]*)\\)").matcher(script);
        assertTrue(r.find(), "no reserve table in gpu-check.sh");
        Map<String, Integer> reserve = new LinkedHashMap<>();
        Matcher e = Pattern.compile("\\[([\\w-]+)]=(\\d+)").matcher(r.group(1));
        while (e.find()) reserve.put(e.group(1), Integer.parseInt(e.group(2)));
        assertTrue(reserve.keySet().containsAll(List.of("junit-gpu", "steps-small", "torch-peers", "torch-compiled")),
                reserve.toString());
        List<String> order = new ArrayList<>();
        Map<String, Integer> limits = new LinkedHashMap<>();
        Matcher s = Pattern.compile("(?m)^\\s*stage ([\\w-]+) (\\d+) ").matcher(script);
        while (s.find()) {
            order.add(s.group(1));
            limits.put(s.group(1), Integer.parseInt(s.group(2)));
        }
        for (String name : reserve.keySet()) {
            assertTrue(order.contains(name), "reserved stage " + name + " is never run");
            assertTrue(reserve.get(name) <= limits.get(name), name + " reserves more than its limit");
        }
        int firstReserved = order.stream().filter(reserve::containsKey).mapToInt(order::indexOf).min().orElseThrow();
        int lastReserved = order.stream().filter(reserve::containsKey).mapToInt(order::indexOf).max().orElseThrow();
        int before = order.subList(0, firstReserved).stream().mapToInt(limits::get).sum();
        int kept = reserve.values().stream().mapToInt(Integer::intValue).sum();
        assertTrue(before + kept <= deadline, before + " s of preparation + " + kept + " s reserved > " + deadline);
        for (String name : order.subList(firstReserved, lastReserved + 1))
            assertTrue(reserve.containsKey(name), name + " runs among the guaranteed stages without a reservation");
    }

    /** The flash attention section from recorded parity and timing lines (flash-check.jsonl, flash.jsonl). */
    @Test
    void reportRendersTheFlashAttentionChecksAndRatios(@TempDir Path work) throws IOException, InterruptedException {
        Files.writeString(work.resolve("stages.tsv"), "flash-check\t0\t3\t\n");
        Files.writeString(work.resolve("flash-check.jsonl"),
                "{\"check\": \"bf16 B=2 T=77 NH=3 hs=64 p=0.10\", \"out\": 0.004, \"lse\": 1e-06, \"dqkv\": 0.006, \"ok\": true}\n");
        Files.writeString(work.resolve("flash.jsonl"), String.join("\n",
                "{\"impl\": \"jgpt flash bf16 (mma.sync)\", \"pass\": \"forward\", \"ms\": 3.0, \"tflops\": 100.0}",
                "{\"impl\": \"jgpt flash bf16 (mma.sync)\", \"pass\": \"backward\", \"ms\": 12.0, \"tflops\": 60.0, "
                        + "\"ms_delta\": 0.5, \"ms_dkdv\": 7.0, \"ms_dq\": 4.5}",
                "{\"impl\": \"torch sdpa flash bf16\", \"pass\": \"forward\", \"ms\": 2.0, \"tflops\": 150.0}",
                "{\"impl\": \"torch sdpa flash bf16\", \"pass\": \"backward\", \"ms\": 8.0, \"tflops\": 90.0}"));
        String report = renderReport(work);
        assertTrue(report.contains("| bf16 B=2 T=77 NH=3 hs=64 p=0.10 | 0.004 | 1e-06 | 0.006 | yes |"), report);
        assertTrue(report.contains("| jgpt flash bf16 (mma.sync) | backward | 12.0 (delta 0.5, dkdv 7.0, dq 4.5) | 60.0 |"), report);
        assertTrue(report.contains("- bf16 forward: jgpt / PyTorch SDPA flash time = 1.50"), report);
        assertTrue(report.contains("- bf16 backward: jgpt / PyTorch SDPA flash time = 1.50"), report);
    }

    /** gpu_report.py on the stage results in {@code work}: the markdown report it writes into {@link #out}. */
    private String renderReport(Path work) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("python3", "native-build/gpu_report.py", work.toString(), out.toString())
                .redirectErrorStream(true).redirectOutput(out.resolve("console.txt").toFile()).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(out.resolve("console.txt")));
        return Files.readString(out.resolve("gpu-report.md"));
    }
}
