package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.Bf16Storage;
import io.jgpt.cpu.CpuOps;
import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.ops.Precision;
import io.jgpt.tensor.Tensor.DType;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.TrainingStep;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The whole model in bf16 on the GPU (bf16 activations and weight copies, cuBLASLt, the bf16 flash kernels,
 * fp32 masters and gradients) against the CPU: within 1e-2 relative of fp32 on the loss, and step by step
 * close to the CPU's bf16-storage mode, which rounds at the same places (what remains is summation order,
 * fused epilogues and the resulting one-ulp bf16 flips).
 */
@Tag("gpu")
class Bf16ModelParityTest {

    /** hs = 32: the bf16 flash kernels' geometry (hs <= 64); GPT-2's shape otherwise, tied head. */
    private static final GPTConfig CFG = new GPTConfig(211, 64, 128, 4, 2, 0f, true, true);
    private static final int B = 4;
    private static final int T = 64;
    private static final int STEPS = 10;

    @BeforeAll
    static void needsGpu() {
        CudaDevice.Probe probe = CudaOps.available();
        Assumptions.assumeTrue(probe.available(), () -> "no usable CUDA device: " + probe.message());
    }

    /** Random ids with a learnable target (a fixed map of the id), so the loss falls: 5.40 to 3.60 in 10 steps. */
    private static Batch batch(int step) {
        Random r = new Random(100 + step);
        int[] ids = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(CFG.vocabSize());
            targets[i] = (ids[i] * 7 + 3) % CFG.vocabSize();
        }
        return new Batch(ids, targets, B, T);
    }

    /** The losses of STEPS training steps (clipping at 1, AdamW) from the same initial weights. */
    private static float[] losses(Ops ops) {
        GPTModel m = new GPTModel(CFG, ops, 5);
        float[] out = new float[STEPS];
        try (TrainingStep step = new TrainingStep(m, new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f)), 1.0)) {
            for (int s = 0; s < STEPS; s++) {
                step.run(List.of(batch(s)), 3e-3f, s, 9);
                out[s] = step.result().loss();
            }
        }
        return out;
    }

    @Test
    void bf16OnTheGpuIsWithinOnePercentOfFp32OnTheCpu() {
        Batch b = batch(0);
        try (Ops cpu = new CpuOps(4); Ops gpu = new CudaOps(0, "auto", Precision.BF16)) {
            assertEquals(DType.BF16, gpu.activationType());
            GPTModel mc = new GPTModel(CFG, cpu, 5);
            GPTModel mg = new GPTModel(CFG, gpu, 5);
            mc.forward(b.inputs(), B, T, DropoutPlan.eval());
            mg.forward(b.inputs(), B, T, DropoutPlan.eval());
            float lc = mc.loss(b.targets()), lg = mg.loss(b.targets());
            assertEquals(lc, lg, 1e-2 * Math.abs(lc), "loss of the initial weights");
            float[] fp32 = losses(cpu), bf16 = losses(gpu);
            for (int s = 0; s < STEPS; s++)
                assertEquals(fp32[s], bf16[s], 1e-2 * Math.abs(fp32[s]), "loss at step " + s);
        }
    }

    /**
     * Per step against the CPU's bf16 mode. Bound: 3e-3 relative on each step's loss. On the CPU these same
     * steps in fp32 and in the bf16 mode differ by up to 1.4e-3 (step 9); a bf16 copy the optimizer did not
     * refresh, or an activation stored in the wrong place, moves the loss by far more (it falls 33 % here).
     */
    @Test
    void bf16OnTheGpuFollowsTheCpuBf16ModeStepByStep() {
        try (Ops cpu = new Bf16Storage(new CpuOps(4)); Ops gpu = new CudaOps(0, "auto", Precision.BF16)) {
            float[] emulated = losses(cpu), onGpu = losses(gpu);
            for (int s = 0; s < STEPS; s++) {
                double rel = Math.abs(onGpu[s] - emulated[s]) / Math.abs(emulated[s]);
                assertTrue(rel <= 3e-3, "loss at step " + s + ": gpu " + onGpu[s] + ", cpu bf16 mode " + emulated[s]
                        + " (rel " + rel + ")");
            }
        }
    }
}
