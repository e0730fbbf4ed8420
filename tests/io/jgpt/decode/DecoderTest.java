package io.jgpt.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.checkpoint.ModelStates;
import io.jgpt.cpu.CpuOps;
import io.jgpt.cpu.WeightMatrix;
import io.jgpt.generate.Decoding;
import io.jgpt.generate.Generator;
import io.jgpt.generate.ModelDecoding;
import io.jgpt.generate.Sampler;
import io.jgpt.io.Dtype;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.io.HostTensor;
import io.jgpt.io.ModelWeights;
import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.model.Parameter;
import io.jgpt.tensor.Bf16;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The memory-speed decoder against the training model's paths (KV cache and full window) on small random
 * models: logits within stated bounds, greedy tokens identical, from jgpt's tensors and from a mapped
 * safetensors checkpoint (Conv1D layout), in float32 and in bf16 against weights rounded to bf16.
 */
class DecoderTest {

    /** Widths that are not multiples of the vector length exercise every scalar tail; the head is untied. */
    private static final GPTConfig ODD = new GPTConfig(97, 40, 24, 2, 2, 0f, true, false);
    /** GPT-2's arrangement (tied head, qkv bias) at a vector-friendly width. */
    private static final GPTConfig TIED = new GPTConfig(300, 48, 64, 4, 3, 0f, true, true);
    private static final CpuOps OPS = new CpuOps(2);

    @AfterAll
    static void close() {
        OPS.close();
    }

    @Test
    void greedyTokensEqualBothModelPathsInFloat32() {
        for (GPTConfig c : List.of(ODD, TIED)) {
            GPTModel model = model(c, 3);
            int[] prompt = prompt(c, 7, 11);
            int n = c.contextLength() - prompt.length; // stays within the window: no refill
            try (DecoderWeights w = DecoderWeights.of(ModelStates.export(model), WeightMatrix.Type.F32)) {
                int[] fast = greedy(new Decoder(w, 2, 1), c, prompt, n);
                assertEquals(n, fast.length);
                assertArrayEquals(greedy(ModelDecoding.cached(model, 1), c, prompt, n), fast, "vs the KV-cache path");
                assertArrayEquals(greedy(ModelDecoding.fullWindow(model, 1), c, prompt, n), fast, "vs the full window");
            }
        }
    }

    @Test
    void prefillLogitsMatchTheTrainingForwardPass(@TempDir Path dir) {
        for (GPTConfig c : List.of(ODD, TIED)) {
            GPTModel model = model(c, 4);
            int[] prompt = prompt(c, c.contextLength(), 12); // a full window, over more than one prefill chunk at context 40+
            float[] expected = lastLogits(model, prompt);
            Gpt2Checkpoint.save(dir.resolve("ckpt" + c.embDim()), ModelStates.export(model));
            try (DecoderWeights inMemory = DecoderWeights.of(ModelStates.export(model), WeightMatrix.Type.F32);
                 DecoderWeights mapped = DecoderWeights.map(dir.resolve("ckpt" + c.embDim()), null)) {
                assertEquals(WeightMatrix.Type.F32, mapped.type());
                assertEquals(WeightMatrix.Layout.ROWS_ARE_INPUTS, mapped.blocks().get(0).qkv().layout(), "Conv1D used in place");
                for (DecoderWeights w : List.of(inMemory, mapped)) {
                    try (Decoder d = new Decoder(w, 2, 1)) {
                        assertClose(expected, d.prefill(0, prompt), 1e-5, "float32 " + w.blocks().get(0).qkv().layout());
                    }
                }
            }
        }
    }

    /**
     * The first prefill runs on the mapped Conv1D weights and starts their panel copies; once those are in,
     * the same prompt gives the same logits bit for bit, so decoding does not depend on when they arrive.
     */
    @Test
    void panelCopiesChangeNoLogit(@TempDir Path dir) {
        GPTModel model = model(TIED, 6);
        Gpt2Checkpoint.save(dir, ModelStates.export(model));
        int[] prompt = prompt(TIED, 21, 14);
        try (DecoderWeights w = DecoderWeights.map(dir, WeightMatrix.Type.F32); Decoder d = new Decoder(w, 2, 1)) {
            assertEquals(4 * TIED.nLayers(), w.packedMatrices(), "every Conv1D weight of a vector-friendly width");
            assertFalse(w.packed().isDone(), "no copy before decoding starts");
            float[] inPlace = d.prefill(0, prompt);
            float[] inPlaceStep = d.step(new int[] {0}, new int[] {5})[0];
            w.packed().join();
            d.reset(0);
            assertArrayEquals(inPlace, d.prefill(0, prompt), "prefill");
            assertArrayEquals(inPlaceStep, d.step(new int[] {0}, new int[] {5})[0], "a decoding step");
        }
    }

    @Test
    void bf16WeightsMatchTheReferenceWithWeightsRoundedToBf16(@TempDir Path dir) {
        for (GPTConfig c : List.of(ODD, TIED)) {
            GPTModel model = model(c, 5);
            Gpt2Checkpoint.save(dir.resolve("ckpt" + c.embDim()), ModelStates.export(model));
            roundMatrices(model);
            int[] prompt = prompt(c, 9, 13);
            float[] expected = lastLogits(model, prompt);
            int n = c.contextLength() - prompt.length;
            int[] expectedTokens = greedy(ModelDecoding.cached(model, 1), c, prompt, n);
            try (DecoderWeights converted = DecoderWeights.of(ModelStates.export(model(c, 5)), WeightMatrix.Type.BF16);
                 DecoderWeights mapped = DecoderWeights.map(dir.resolve("ckpt" + c.embDim()), WeightMatrix.Type.BF16)) {
                WeightMatrix.Layout conv1d = WeightMatrix.wholePanelPairs(3 * c.embDim()) ? WeightMatrix.Layout.PANELS : WeightMatrix.Layout.ROWS_ARE_OUTPUTS;
                assertEquals(conv1d, mapped.blocks().get(0).qkv().layout(), "a converted Conv1D is written in panels where they fit, else transposed");
                for (DecoderWeights w : List.of(converted, mapped)) {
                    assertEquals(WeightMatrix.Type.BF16, w.type());
                    try (Decoder d = new Decoder(w, 2, 1)) {
                        assertClose(expected, d.prefill(0, prompt), 1e-5, "bf16 " + w.blocks().get(0).qkv().layout());
                    }
                    assertArrayEquals(expectedTokens, greedy(new Decoder(w, 2, 1), c, prompt, n));
                }
                assertTrue(mapped.bytesPerToken() * 2 == DecoderWeights.of(ModelStates.export(model), WeightMatrix.Type.F32).bytesPerToken(),
                        "bf16 reads half the bytes");
            }
        }
    }

    /**
     * A checkpoint saved as bf16 ({@code convert --dtype bf16}) is mapped as stored, its matrices used in place
     * and packed in the background, and decodes bit for bit like the f32 file rounded at load ({@code --weights
     * bf16}): the same rounding, and kernels that give the in-place and the panel products the same bits.
     */
    @Test
    void aBf16CheckpointDecodesLikeTheF32FileRoundedAtLoad(@TempDir Path dir) {
        GPTModel model = model(TIED, 8);
        Gpt2Checkpoint.save(dir.resolve("f32"), ModelStates.export(model));
        Gpt2Checkpoint.save(dir.resolve("bf16"), ModelStates.export(model), Dtype.BF16);
        assertTrue(dir.resolve("bf16/model.safetensors").toFile().length() < dir.resolve("f32/model.safetensors").toFile().length() * 0.6,
                "half the bytes");
        int[] prompt = prompt(TIED, 11, 15);
        try (DecoderWeights rounded = DecoderWeights.map(dir.resolve("f32"), WeightMatrix.Type.BF16);
             DecoderWeights stored = DecoderWeights.map(dir.resolve("bf16"), null);
             Decoder a = new Decoder(rounded, 2, 1); Decoder b = new Decoder(stored, 2, 1)) {
            assertEquals(WeightMatrix.Type.BF16, stored.type(), "as stored");
            assertEquals(WeightMatrix.Layout.ROWS_ARE_INPUTS, stored.blocks().get(0).qkv().layout(), "used in place");
            assertArrayEquals(a.prefill(0, prompt), b.prefill(0, prompt), "prefill");
            stored.packed().join();
            assertArrayEquals(a.step(new int[] {0}, new int[] {3})[0], b.step(new int[] {0}, new int[] {3})[0],
                    "a step, after the panel copies");
        }
    }

    @Test
    void promptsDecodedTogetherEqualEachDecodedAlone() {
        GPTConfig c = TIED;
        GPTModel model = model(c, 6);
        int[][] prompts = {prompt(c, 3, 21), prompt(c, 11, 22), prompt(c, 1, 23), prompt(c, 6, 24)};
        int[] limits = {10, 4, 30, 0};
        try (DecoderWeights w = DecoderWeights.of(ModelStates.export(model), WeightMatrix.Type.F32)) {
            List<Generator.Request> together = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                together.add(new Generator.Request(prompts[i], limits[i], sampler(c, i), id -> { }));
            }
            List<int[]> batched;
            try (Decoder d = new Decoder(w, 2, prompts.length)) {
                batched = new Generator(d).generateAll(together);
            }
            for (int i = 0; i < prompts.length; i++) {
                try (Decoder alone = new Decoder(w, 1, 1)) {
                    int[] single = new Generator(alone).generate(prompts[i], limits[i], sampler(c, i), id -> { });
                    assertArrayEquals(single, batched.get(i), "prompt " + i);
                    assertEquals(limits[i], single.length);
                }
            }
        }
    }

    @Test
    void generationContinuesPastTheContextLikeTheCachedPath() {
        GPTConfig c = ODD;
        GPTModel model = model(c, 8);
        int[] prompt = prompt(c, 5, 31);
        try (DecoderWeights w = DecoderWeights.of(ModelStates.export(model), WeightMatrix.Type.F32)) {
            int n = 3 * c.contextLength();
            assertArrayEquals(greedy(ModelDecoding.cached(model, 1), c, prompt, n), greedy(new Decoder(w, 2, 1), c, prompt, n));
        }
    }

    @Test
    void rejectsBadTokensAndSequences() {
        GPTModel model = model(ODD, 9);
        try (DecoderWeights w = DecoderWeights.of(ModelStates.export(model), WeightMatrix.Type.F32);
             Decoder d = new Decoder(w, 1, 2)) {
            String m = assertThrows(IllegalArgumentException.class, () -> d.prefill(0, new int[] {3, ODD.vocabSize()})).getMessage();
            assertTrue(m.contains("token id " + ODD.vocabSize()), m);
            assertEquals(0, d.length(0), "a rejected call leaves the cache as it was");
            assertThrows(IllegalArgumentException.class, () -> d.prefill(2, new int[] {1}));
            assertThrows(IllegalArgumentException.class, () -> d.step(new int[] {1, 1}, new int[] {1, 2}));
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private static GPTModel model(GPTConfig c, long seed) {
        GPTModel m = new GPTModel(c, OPS, seed);
        // Non-zero biases and LayerNorm affine terms, so that every vector is exercised.
        Random rng = new Random(seed);
        for (Parameter p : m.parameters()) {
            if (p.isMatrix()) continue;
            float[] v = OPS.download(p.value());
            for (int i = 0; i < v.length; i++) v[i] += (float) (0.1 * rng.nextGaussian());
            OPS.write(p.value(), v);
        }
        return m;
    }

    /** Rounds every matrix (embeddings, linear weights, head) to bf16 values in place. */
    private static void roundMatrices(GPTModel m) {
        for (Parameter p : m.parameters()) {
            if (!p.isMatrix()) continue;
            float[] v = OPS.download(p.value());
            Bf16.round(v);
            OPS.write(p.value(), v);
        }
    }

    private static float[] lastLogits(GPTModel model, int[] prompt) {
        float[] all = OPS.download(model.forward(prompt, 1, prompt.length, DropoutPlan.eval()));
        int v = model.config().vocabSize();
        return Arrays.copyOfRange(all, all.length - v, all.length);
    }

    private static int[] greedy(Decoding d, GPTConfig c, int[] prompt, int n) {
        try (d) {
            return new Generator(d).generate(prompt, n, Sampler.of(c.vocabSize(), 0f, 0), id -> { });
        }
    }

    private static Sampler sampler(GPTConfig c, int i) {
        return i % 2 == 0 ? Sampler.of(c.vocabSize(), 0f, 0) : new Sampler(c.vocabSize(), 1.1f, 20, 0.9f, 100 + i);
    }

    private static int[] prompt(GPTConfig c, int n, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(c.vocabSize());
        return ids;
    }

    /** max |a - e| <= bound * max(1, max |e|): relative to the logits' scale. */
    private static void assertClose(float[] expected, float[] actual, double bound, String what) {
        assertEquals(expected.length, actual.length);
        double scale = 1, err = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(err <= bound * scale, what + ": max error " + err + " at scale " + scale);
    }
}
