package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.generate.ModelDecoding;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * KV-cache decoding on the CUDA backend over the recording fake of the driver (no GPU): after one eager step,
 * a step is one replay of a recorded graph, whichever sequences take part; the host stages the tokens and
 * positions (two copies) and reads the logits back, nothing else; prefills between steps leave the graph
 * valid. The fake fails any wait, allocation or host copy inside the capture.
 */
class DecodingCaptureTest {

    private static final GPTConfig CFG = new GPTConfig(17, 16, 16, 2, 2, 0f, true, true);
    private static final int SEQUENCES = 3;

    @Test
    void stepsAfterTheFirstReplayOneGraph() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (ModelDecoding d = ModelDecoding.cached(m, SEQUENCES)) {
                for (int s = 0; s < SEQUENCES; s++) d.prefill(s, new int[] {1, 2, 3 + s});
                d.step(new int[] {0, 1, 2}, new int[] {4, 5, 6});
                assertFalse(d.replaying(), "the first step runs eagerly");
                assertEquals(0, driver.captures);

                driver.resetCounts();
                d.step(new int[] {0, 1, 2}, new int[] {7, 8, 9});
                d.step(new int[] {0, 2}, new int[] {10, 11}); // sequence 1 has stopped: the same graph serves
                assertTrue(d.replaying());
                assertEquals(1, driver.captures);
                assertEquals(2, driver.graphLaunches);
                assertEquals(2 * 2, driver.asyncHostCopies, "tokens and positions per step");
                assertEquals(Collections.nCopies(driver.asyncHostCopies, "memcpyDtoD"), driver.launched,
                        "outside the graph only the staged copies into place");
                assertEquals(0, driver.allocations);
                for (String k : List.of("kv_cache_write", "attention_cached"))
                    assertEquals(CFG.nLayers(), Collections.frequency(driver.captured, k), k + " in " + driver.captured);
                assertEquals(2, Collections.frequency(driver.captured, "embedding_forward_f32"), "tokens and positions");
                assertEquals(1, Collections.frequency(driver.captured, "argmax_rows"), "the greedy ids, in the graph");

                d.stepGreedy(new int[] {0, 1, 2}, new int[] {1, 2, 3}); // the same graph, ids read back
                d.reset(1);
                d.prefill(1, new int[] {12}); // another record than the step's
                d.step(new int[] {0, 1, 2}, new int[] {13, 14, 15});
                assertTrue(d.replaying(), "a prefill between steps leaves the recorded step valid");
                assertEquals(1, driver.captures);
                assertEquals(4, driver.graphLaunches);
            }
        }
    }

    /** Decodings of batch 1 and batch 3 over one model, stepping in turn, each keep their own recorded graph. */
    @Test
    void decodingsOfDifferentBatchSizesKeepTheirGraphs() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (ModelDecoding one = ModelDecoding.cached(m, 1); ModelDecoding three = ModelDecoding.cached(m, 3)) {
                one.prefill(0, new int[] {1});
                for (int s = 0; s < 3; s++) three.prefill(s, new int[] {2 + s});
                for (int i = 0; i < 4; i++) {
                    one.stepGreedy(new int[] {0}, new int[] {5});
                    three.stepGreedy(new int[] {0, 1, 2}, new int[] {6, 7, 8});
                }
                assertTrue(one.replaying() && three.replaying());
                assertEquals(2, driver.captures, "one graph each, recorded once");
                assertEquals(2 * 3, driver.graphLaunches, "every step after each one's eager first");
            }
        }
    }

    @Test
    void withoutGraphsEveryStepIsIssuedEagerly() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (ModelDecoding d = ModelDecoding.cached(m, 1, false)) {
                d.prefill(0, new int[] {1});
                for (int i = 0; i < 3; i++) d.step(new int[] {0}, new int[] {3 + i});
                assertFalse(d.replaying());
            }
            assertEquals(0, driver.captures);
            assertEquals(0, driver.graphLaunches);
            assertEquals(4 * CFG.nLayers(), Collections.frequency(driver.launched, "attention_cached"),
                    "a one-token prefill and three steps, each through every layer");
        }
    }

    @Test
    void aRefusedCaptureLeavesDecodingEager() {
        RecordingDriver driver = new RecordingDriver();
        driver.refuseCaptures = true;
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (ModelDecoding d = ModelDecoding.cached(m, 2)) {
                d.prefill(0, new int[] {1});
                d.prefill(1, new int[] {2});
                for (int i = 0; i < 4; i++) d.step(new int[] {0, 1}, new int[] {3, 4});
                assertFalse(d.replaying());
            }
            assertEquals(0, driver.graphLaunches);
            assertEquals(6 * CFG.nLayers(), Collections.frequency(driver.launched, "attention_cached"),
                    "two prefills and four steps, eagerly");
        }
    }
}
