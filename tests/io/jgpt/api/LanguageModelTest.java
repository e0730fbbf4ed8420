package io.jgpt.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.api.LanguageModel.Completion;
import io.jgpt.api.LanguageModel.Options;
import io.jgpt.api.LanguageModel.Sampling;
import io.jgpt.api.LanguageModel.Weights;
import io.jgpt.checkpoint.ModelStates;
import io.jgpt.cpu.CpuOps;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The public API on a small saved checkpoint: the CPU decoder, the reference path and batching agree. */
class LanguageModelTest {

    private static final GPTConfig SMALL = new GPTConfig(50257, 48, 32, 2, 2, 0f, true, true);

    private static Path checkpoint(Path dir) {
        try (CpuOps ops = new CpuOps(2)) {
            Gpt2Checkpoint.save(dir, ModelStates.export(new GPTModel(SMALL, ops, 11)));
        }
        return dir;
    }

    @Test
    void decoderAndReferenceGenerateTheSameTextAndBatchesMatchSingles(@TempDir Path dir) {
        String model = checkpoint(dir.resolve("ckpt")).toString();
        Sampling greedy = Sampling.greedy(12);
        StringBuilder streamed = new StringBuilder();
        try (LanguageModel fast = LanguageModel.load(model, Options.defaults().threads(2).batch(3));
             LanguageModel reference = LanguageModel.load(model, Options.defaults().threads(2).cache(false))) {
            Completion a = fast.generate("Hello there", greedy, streamed::append);
            assertEquals(a.text(), streamed.toString(), "the stream is the completion");
            assertEquals(reference.generate("Hello there", greedy, piece -> { }).text(), a.text());
            assertEquals(a.text(), fast.detokenize(a.tokens()));
            assertEquals("Hello there", fast.detokenize(fast.tokenize("Hello there")));

            List<String> prompts = List.of("One", "Two three four", "Five six");
            Sampling sampled = new Sampling(9, 0.9f, 50, 0.95f, 3);
            List<Completion> together = fast.generateAll(prompts, sampled);
            for (int i = 0; i < prompts.size(); i++) {
                // Prompt i samples with seed + i, alone or in a batch.
                Sampling own = new Sampling(9, 0.9f, 50, 0.95f, 3 + i);
                assertArrayEquals(fast.generate(prompts.get(i), own, piece -> { }).tokens(), together.get(i).tokens(), prompts.get(i));
                assertEquals(prompts.get(i), together.get(i).prompt());
            }
        }
    }

    @Test
    void bf16WeightsHalveTheBytesAndNeedTheCpuDecoder(@TempDir Path dir) {
        String model = checkpoint(dir.resolve("ckpt")).toString();
        try (LanguageModel f32 = LanguageModel.load(model);
             LanguageModel bf16 = LanguageModel.load(model, Options.defaults().weights(Weights.BF16))) {
            assertEquals(f32.weightBytes(), 2 * bf16.weightBytes(), "every matrix in half the bytes");
            Completion c = bf16.generate("Hi", Sampling.greedy(12), piece -> { });
            assertTrue(c.tokens().length == 12 || c.endOfText(), c.toString());
        }
        String m = assertThrows(IllegalArgumentException.class,
                () -> LanguageModel.load(model, Options.defaults().weights(Weights.BF16).cache(false))).getMessage();
        assertTrue(m.contains("bf16"), m);
    }
}
