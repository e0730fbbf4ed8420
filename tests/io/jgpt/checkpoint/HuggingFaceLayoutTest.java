package io.jgpt.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.cpu.CpuOps;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A saved checkpoint means the same model to an independent GPT-2 implementation that follows Hugging
 * Face's conventions (native-build/hf_gpt2_logits.py, PyTorch): same logits for the same tokens. Skipped
 * where no Python with PyTorch is installed.
 */
class HuggingFaceLayoutTest {

    static final Path SCRIPT = Path.of("native-build/hf_gpt2_logits.py");

    static String python() {
        for (String p : List.of("/usr/bin/python3", "python3")) {
            try {
                Process proc = new ProcessBuilder(p, "-c", "import torch").redirectErrorStream(true).start();
                if (proc.waitFor(60, TimeUnit.SECONDS) && proc.exitValue() == 0) return p;
            } catch (Exception e) {
                // try the next one
            }
        }
        return null;
    }

    @ParameterizedTest(name = "tied head {0}")
    @ValueSource(booleans = {true, false})
    void pytorchGpt2ComputesTheSameLogits(boolean tied, @TempDir Path dir) throws Exception {
        String python = python();
        Assumptions.assumeTrue(python != null, "no python3 with torch here (Debian: apt-get install python3-torch)");
        GPTConfig cfg = new GPTConfig(61, 16, 24, 3, 2, 0f, !tied, tied);
        int[] ids = {5, 17, 3, 60, 0, 42, 42, 7, 11};
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel model = new GPTModel(cfg, ops, 9);
            Gpt2Checkpoint.save(dir, ModelStates.export(model));
            float[] ours = ops.download(model.forward(ids, 1, ids.length, DropoutPlan.eval()));
            double[] theirs = scriptLogits(python, SCRIPT, dir, ids, 120);
            assertEquals(ours.length, theirs.length);
            for (int i = 0; i < ours.length; i++) {
                // Both in float32 with different summation orders: agree to 1e-4 of the logit scale.
                assertEquals(theirs[i], ours[i], 1e-4 * (1 + Math.abs(theirs[i])), "logit " + i);
            }
        }
    }

    /** The logits {@code script DIR ID...} prints as one JSON array for the checkpoint in {@code dir}. */
    static double[] scriptLogits(String python, Path script, Path dir, int[] ids, int timeoutSeconds) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(python, script.toString(), dir.toString()));
        for (int id : ids) cmd.add(Integer.toString(id));
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("stderr.txt").toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(timeoutSeconds, TimeUnit.SECONDS) && p.exitValue() == 0, () -> readQuietly(dir.resolve("stderr.txt")));
        return new ObjectMapper().readValue(out, double[].class);
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "";
        }
    }
}
