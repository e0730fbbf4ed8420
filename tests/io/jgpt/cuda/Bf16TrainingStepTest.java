package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cuda.blas.CublasLt.Shape;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Precision;
import io.jgpt.tensor.Tensor.DType;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.TrainingStep;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Test;

/**
 * A whole bf16 training step of the CUDA backend on the recording fake driver (no GPU): activations are BF16
 * tensors, so every activation kernel is its _bf16 instantiation (a tensor of another dtype would be refused
 * by the op's dtype check); fp32 work is only what the mixed-precision recipe keeps in fp32 (parameter
 * gradients, the optimizer, the loss); the bf16 weight copy is written by the AdamW launch itself after the
 * first step; and the step is recorded and replayed as a CUDA graph without allocating or waiting.
 */
class Bf16TrainingStepTest {

    private static final GPTConfig CFG = new GPTConfig(17, 16, 16, 2, 2, 0f, true, true);

    /** cuBLASLt stand-in: every product "runs" (what the GPU does when the heuristic finds an algorithm). */
    private static final class CountingLt implements Bf16Linear.Lt {
        final List<String> shapes = new ArrayList<>();

        @Override
        public boolean matmul(Shape s, float alpha, Pointer a, Pointer b, float beta, Pointer d, Pointer bias,
                              Pointer aux, CUstream stream) {
            shapes.add(s.toString());
            return true;
        }

        @Override
        public void close() {}
    }

    /**
     * The fp32 kernels a bf16 step may launch: fp32 parameter-gradient sums (the cuBLASLt bias gradient added
     * into the fp32 bias gradient, the LayerNorm parameter gradients' partial sums reduced), the loss, the
     * global norm and the AdamW update.
     */
    private static final Set<String> FP32_BY_DESIGN = Set.of("residual_add_f32", "layernorm_params_reduce",
            "loss_accumulate", "chunk_sum_squares", "step_decision", "adamw_arena");

    /** Not kernels: the driver's memset and device copy (the inactive dropouts), and the first bf16 copy. */
    private static final Set<String> DRIVER_OPS = Set.of("memset", "memcpyDtoD", "bf16_narrow");

    private static CudaOps bf16Backend(RecordingDriver driver, CountingLt lt) {
        return new CudaOps(new CudaContext(driver, 0, new byte[0]), NoBlas::new, Precision.BF16, (ws, n) -> lt);
    }

    /** What was launched outside graphs, less the staged writes' copies into place (memcpyDtoD). */
    private static List<String> outsideStaging(RecordingDriver driver) {
        return driver.launched.stream().filter(k -> !k.equals("memcpyDtoD")).toList();
    }

    private static Batch batch(int b, int t) {
        return CaptureSafetyTest.batch(b, t);
    }

    @Test
    void aBf16StepRunsBf16KernelsOnBf16ActivationsAndReplaysAsAGraph() {
        RecordingDriver driver = new RecordingDriver();
        CountingLt lt = new CountingLt();
        try (CudaOps ops = bf16Backend(driver, lt)) {
            assertEquals(DType.BF16, ops.activationType());
            GPTModel m = new GPTModel(CFG, ops, 1);
            assertEquals(DType.BF16, m.parameterArena().computeCopy().dtype());
            AdamW opt = new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f));
            try (TrainingStep step = new TrainingStep(m, opt, 1.0)) {
                step.run(List.of(batch(2, 8)), 1e-3f, 0, 1); // eager: allocates, makes the first bf16 copy
                assertEquals(1, Collections.frequency(driver.launched, "bf16_narrow"), "one copy from the initial weights");
                List<String> eager = List.copyOf(driver.launched);
                for (String k : List.of("embedding_forward_bf16", "layernorm_forward_bf16", "flash_attention_forward_bf16",
                        "residual_layernorm_forward_bf16", "residual_add_bf16", "cross_entropy_forward_backward_bf16",
                        "layernorm_backward_input_bf16", "embedding_backward_wte_bf16"))
                    assertTrue(eager.contains(k), k + " in " + new TreeSet<>(eager));
                // The MLP's GELU and its backward run in cuBLASLt's epilogues, not as kernels.
                for (String e : List.of("GELU_AUX_BIAS", "DGELU_BGRAD"))
                    assertTrue(lt.shapes.stream().anyMatch(s -> s.contains(e)), e + " in " + lt.shapes);
                assertFalse(eager.contains("gelu_forward_bf16") || eager.contains("gelu_backward_bf16"), "GELU kernels ran");
                Set<String> unexpected = new TreeSet<>();
                for (String k : eager)
                    if (!k.endsWith("_bf16") && !FP32_BY_DESIGN.contains(k) && !DRIVER_OPS.contains(k)) unexpected.add(k);
                assertEquals(Set.of(), unexpected, "kernels outside bf16 and the fp32 recipe");
                assertFalse(lt.shapes.isEmpty(), "the linear layers ran on cuBLASLt");

                driver.resetCounts();
                for (int s = 1; s <= 3; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 1);
                assertEquals(1, driver.captures, "one capture for the shape");
                assertEquals(3, driver.graphLaunches);
                assertEquals(List.of(), outsideStaging(driver), "every kernel of a step is in the graph");
                assertEquals(0, driver.allocations, "nothing allocated after the first step");
                assertEquals(0, driver.hostWaits);
                assertEquals(1, Collections.frequency(driver.captured, "adamw_arena"), "the bf16 copy is AdamW's");
                assertFalse(driver.captured.contains("bf16_narrow"), "no separate narrowing pass");
            }
        }
    }

    /** Accumulation with dropout, recorded or eager: no allocation, no wait and no separate narrowing after step 1. */
    @Test
    void accumulatedStepsWithDropoutStayOnTheArenasToo() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = bf16Backend(driver, new CountingLt())) {
            GPTModel m = new GPTModel(CFG.withDropRate(0.1f), ops, 1);
            AdamW opt = new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f));
            try (TrainingStep step = new TrainingStep(m, opt, 1.0)) {
                step.run(List.of(batch(2, 8), batch(2, 8)), 1e-3f, 0, 1);
                driver.resetCounts();
                driver.captured.clear();
                for (int s = 1; s <= 3; s++) step.run(List.of(batch(2, 8), batch(2, 8)), 1e-3f, s, 1);
                assertEquals(0, driver.allocations);
                assertEquals(0, driver.hostWaits);
                List<String> queued = new ArrayList<>(driver.launched);
                queued.addAll(driver.captured);
                assertFalse(queued.contains("bf16_narrow"), "AdamW writes the copy");
                assertTrue(queued.contains("dropout_forward_bf16"), "dropout on bf16 activations");
                assertTrue(queued.contains("adamw_arena"));
            }
        }
    }

    /** Loading weights (a resume, a checkpoint) makes the bf16 copy again before the next step reads it. */
    @Test
    void writtenWeightsAreNarrowedAgainBeforeTheNextStep() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = bf16Backend(driver, new CountingLt())) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            AdamW opt = new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f));
            try (TrainingStep step = new TrainingStep(m, opt, 1.0)) {
                for (int s = 0; s < 3; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 1);
                var p = m.parameters().getFirst();
                ops.write(p.value(), new float[Math.toIntExact(p.value().numel())]);
                driver.resetCounts();
                step.run(List.of(batch(2, 8)), 1e-3f, 3, 1);
                assertEquals(List.of("bf16_narrow"), outsideStaging(driver), "one narrowing pass, then the recorded step");
                assertEquals(1, driver.graphLaunches);
            }
        }
    }
}
