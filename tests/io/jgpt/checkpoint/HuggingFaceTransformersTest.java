package io.jgpt.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cuda.CudaDevice;
import io.jgpt.cuda.CudaOps;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.TrainingStep;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the GPU machine, whose Python has Hugging Face transformers: a checkpoint of a model trained a few steps
 * on the GPU, loaded with {@code GPT2LMHeadModel.from_pretrained} (native-build/hf_transformers_logits.py),
 * gives the logits jgpt computes on the GPU. Skipped without a GPU or without transformers.
 */
@Tag("gpu")
class HuggingFaceTransformersTest {

    private static boolean hasTransformers() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import transformers").redirectErrorStream(true).start();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @ParameterizedTest(name = "tied head {0}")
    @ValueSource(booleans = {true, false})
    void fromPretrainedComputesJgptsLogits(boolean tied, @TempDir Path dir) throws Exception {
        CudaDevice.Probe probe = CudaOps.available();
        Assumptions.assumeTrue(probe.available(), () -> "no usable CUDA device: " + probe.message());
        Assumptions.assumeTrue(hasTransformers(), "python3 has no Hugging Face transformers here");
        GPTConfig cfg = new GPTConfig(50257, 64, 128, 4, 2, 0f, true, tied);
        Random r = new Random(4);
        int[] ids = new int[48];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(cfg.vocabSize());
        try (Ops gpu = new CudaOps(0, "auto", false)) {
            GPTModel model = new GPTModel(cfg, gpu, 2);
            // A few steps, so the weights are not just their initialisation.
            int[] in = new int[2 * 64], out = new int[2 * 64];
            for (int i = 0; i < in.length; i++) {
                in[i] = r.nextInt(cfg.vocabSize());
                out[i] = r.nextInt(cfg.vocabSize());
            }
            try (TrainingStep step = new TrainingStep(model, new AdamW(model.parameterArena(), AdamW.Settings.book(0.1f)), 1.0)) {
                for (int s = 0; s < 3; s++) step.run(List.of(new Batch(in, out, 2, 64)), 1e-3f, s, 1);
            }
            Gpt2Checkpoint.save(dir, ModelStates.export(model));
            float[] ours = gpu.download(model.forward(ids, 1, ids.length, DropoutPlan.eval()));
            double[] theirs = HuggingFaceLayoutTest.scriptLogits("python3", Path.of("native-build/hf_transformers_logits.py"),
                    dir, ids, 300);
            assertEquals(ours.length, theirs.length);
            double maxErr = 0;
            for (int i = 0; i < ours.length; i++) maxErr = Math.max(maxErr, Math.abs(theirs[i] - ours[i]) / (1 + Math.abs(theirs[i])));
            // Both float32 (strict fp32 GEMMs here; PyTorch's default matmul precision) with different orders.
            assertTrue(maxErr < 1e-4, "largest logit difference relative to 1 + |logit|: " + maxErr);
        }
    }
}
