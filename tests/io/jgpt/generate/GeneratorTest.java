package io.jgpt.generate;

import io.jgpt.tokenizer.Gpt2Tokenizer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.model.KVCache;
import io.jgpt.model.Parameter;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Cached generation against the book's recompute-everything loop on a tiny random model. */
class GeneratorTest {

    private static final int CONTEXT = 32;
    private static final GPTConfig TINY = new GPTConfig(61, CONTEXT, 16, 2, 2, 0f, true, false);
    private static final CpuOps OPS = new CpuOps(2);
    private static final GPTModel MODEL = new GPTModel(TINY, OPS, 5);

    @AfterAll
    static void close() {
        OPS.close();
    }

    @Test
    void cachedAndUncachedGreedyAgree() {
        int[] prompt = prompt(6, 1);
        int[] cached = generate(true, Sampler.of(TINY.vocabSize(), 0f, 0), prompt, 20);
        assertEquals(20, cached.length);
        assertArrayEquals(generate(false, Sampler.of(TINY.vocabSize(), 0f, 0), prompt, 20), cached);
    }

    @Test
    void firstStepLogitsAgree() {
        int[] prompt = prompt(9, 2);
        int v = TINY.vocabSize();
        float[] all = OPS.download(MODEL.forward(prompt, 1, prompt.length, DropoutPlan.eval()));
        try (KVCache cache = new KVCache(MODEL, 1)) {
            float[] last = OPS.download(MODEL.forwardCached(prompt, 1, prompt.length, cache));
            assertArrayEquals(Arrays.copyOfRange(all, all.length - v, all.length), last, 1e-5f);
        }
    }

    @Test
    void cachedAndUncachedSamplingAgreeForOneSeed() {
        int[] prompt = prompt(4, 3);
        Supplier<Sampler> sampler = () -> new Sampler(TINY.vocabSize(), 1.2f, 10, 0.95f, 99);
        int[] cached = generate(true, sampler.get(), prompt, 20);
        assertArrayEquals(generate(false, sampler.get(), prompt, 20), cached);
        assertArrayEquals(cached, generate(true, sampler.get(), prompt, 20), "same seed, same tokens");
    }

    @Test
    void aTinyTemperatureEqualsGreedy() {
        int[] prompt = prompt(5, 4);
        assertArrayEquals(generate(true, Sampler.of(TINY.vocabSize(), 0f, 0), prompt, 15),
                generate(true, Sampler.of(TINY.vocabSize(), 1e-6f, 1), prompt, 15));
    }

    @Test
    void aLongPromptKeepsItsLastContextTokens() {
        int[] prompt = prompt(CONTEXT + 13, 5);
        int[] tail = Arrays.copyOfRange(prompt, 13, prompt.length);
        for (boolean cache : new boolean[] {true, false}) {
            assertArrayEquals(generate(cache, Sampler.of(TINY.vocabSize(), 0f, 0), tail, 6),
                    generate(cache, Sampler.of(TINY.vocabSize(), 0f, 0), prompt, 6), "cache " + cache);
        }
    }

    /**
     * Past the context the cache is refilled from the last context/2 tokens; until then (prompt 5 + 27 fed
     * tokens fill the 32 positions) both modes see the same tokens.
     */
    @Test
    void generationContinuesPastTheContext() {
        int[] prompt = prompt(5, 6);
        int[] cached = generate(true, Sampler.of(TINY.vocabSize(), 0f, 0), prompt, 3 * CONTEXT);
        int[] uncached = generate(false, Sampler.of(TINY.vocabSize(), 0f, 0), prompt, 3 * CONTEXT);
        assertEquals(3 * CONTEXT, cached.length);
        assertArrayEquals(Arrays.copyOf(uncached, CONTEXT - 4), Arrays.copyOf(cached, CONTEXT - 4));
    }

    @Test
    void streamsEveryTokenAsItIsProduced() {
        int[] seen = new int[8];
        int[] count = {0};
        int[] out;
        try (Decoding d = ModelDecoding.cached(MODEL, 1)) {
            out = new Generator(d).generate(prompt(3, 7), 8, Sampler.of(TINY.vocabSize(), 1f, 8), id -> seen[count[0]++] = id);
        }
        assertArrayEquals(out, seen);
        assertEquals(0, generate(true, Sampler.of(TINY.vocabSize(), 0f, 0), prompt(3, 7), 0).length);
    }

    @Test
    void rejectsAnEmptyPromptAndANegativeTokenCount() {
        Sampler greedy = Sampler.of(TINY.vocabSize(), 0f, 0);
        try (Decoding d = ModelDecoding.cached(MODEL, 1)) {
            Generator g = new Generator(d);
            assertMessage("--prompt", () -> g.generate(new int[0], 5, greedy, id -> {}));
            assertMessage("--max-new-tokens", () -> g.generate(new int[] {1}, -1, greedy, id -> {}));
        }
    }

    /**
     * A GPT-2-sized vocabulary whose final LayerNorm outputs all ones and whose head gives
     * {@code <|endoftext|>} logit L and every other token 0: greedy stops at once; sampling at
     * temperature 1 with P(end) = 0.3 stops early and never emits the end token.
     */
    @Test
    void stopsAtEndOfText() {
        GPTConfig cfg = new GPTConfig(Gpt2Tokenizer.END_OF_TEXT + 1, 8, 8, 2, 1, 0f, true, false);
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel model = new GPTModel(cfg, ops, 1);
            Map<String, Parameter> p = model.namedParameters();
            int c = cfg.embDim();
            ops.write(p.get("ln_f.weight").value(), new float[c]);
            ops.write(p.get("ln_f.bias").value(), filled(c, 1f));
            float[] head = new float[cfg.vocabSize() * c];
            float logit = (float) Math.log(0.3 / 0.7 * Gpt2Tokenizer.END_OF_TEXT);
            Arrays.fill(head, Gpt2Tokenizer.END_OF_TEXT * c, (Gpt2Tokenizer.END_OF_TEXT + 1) * c, logit / c);
            ops.write(p.get("lm_head.weight").value(), head);

            int[] emitted = {0};
            int[] greedy;
            int[] sampled;
            try (Decoding d = ModelDecoding.cached(model, 1)) {
                greedy = new Generator(d).generate(new int[] {7}, 50, Sampler.of(cfg.vocabSize(), 0f, 0), id -> emitted[0]++);
                sampled = new Generator(d).generate(new int[] {7}, 200, Sampler.of(cfg.vocabSize(), 1f, 3), id -> {});
            }
            assertEquals(0, greedy.length);
            assertEquals(0, emitted[0]);
            assertTrue(sampled.length < 200, "P(no end in 200 draws) = 0.7^200");
            assertFalse(Arrays.stream(sampled).anyMatch(id -> id == Gpt2Tokenizer.END_OF_TEXT));
        }
    }

    /**
     * Prompts of 3, 9 and 1 tokens decoded together through one KV cache (batched steps, each sequence at its
     * own position, one finishing early) equal each prompt decoded alone through the full-window loop: greedy,
     * where every step's tokens come from the backend's argmaxRows (stepGreedy, never step), and sampled, one
     * seed per prompt, from the logits.
     */
    @Test
    void promptsDecodedTogetherEqualEachAlone() {
        int[][] prompts = {prompt(3, 11), prompt(9, 12), prompt(1, 13)};
        int[] limits = {12, 5, 20};
        for (boolean sampled : new boolean[] {false, true}) {
            java.util.function.IntFunction<Sampler> sampler = s -> sampled
                    ? new Sampler(TINY.vocabSize(), 0.9f, 20, 1f, 40 + s) : Sampler.of(TINY.vocabSize(), 0f, 0);
            java.util.List<Generator.Request> requests = new java.util.ArrayList<>();
            for (int s = 0; s < prompts.length; s++)
                requests.add(new Generator.Request(prompts[s], limits[s], sampler.apply(s), id -> {}));
            int[] calls = new int[2]; // steps answered with logits, with greedy ids
            java.util.List<int[]> together;
            try (ModelDecoding d = ModelDecoding.cached(MODEL, prompts.length)) {
                together = new Generator(counting(d, calls)).generateAll(requests);
            }
            assertEquals(0, calls[sampled ? 1 : 0], "steps of the other kind");
            assertTrue(calls[sampled ? 0 : 1] >= 19, "a step per token after the first: " + Arrays.toString(calls));
            for (int s = 0; s < prompts.length; s++) {
                assertArrayEquals(generate(false, sampler.apply(s), prompts[s], limits[s]), together.get(s),
                        "prompt " + s + (sampled ? ", sampled" : ", greedy"));
            }
        }
    }

    /** {@code d}, counting its steps: calls[0] those answered with logits, calls[1] those with greedy ids. */
    private static Decoding counting(Decoding d, int[] calls) {
        return new Decoding() {
            public int vocabSize() { return d.vocabSize(); }
            public int capacity() { return d.capacity(); }
            public int sequences() { return d.sequences(); }
            public int length(int seq) { return d.length(seq); }
            public void reset(int seq) { d.reset(seq); }
            public float[] prefill(int seq, int[] ids) { return d.prefill(seq, ids); }
            public float[][] step(int[] seqs, int[] ids) {
                calls[0]++;
                return d.step(seqs, ids);
            }
            public int[] stepGreedy(int[] seqs, int[] ids) {
                calls[1]++;
                return d.stepGreedy(seqs, ids);
            }
            public void close() { d.close(); }
        };
    }

    private static int[] generate(boolean cache, Sampler sampler, int[] prompt, int n) {
        try (Decoding d = cache ? ModelDecoding.cached(MODEL, 1) : ModelDecoding.fullWindow(MODEL, 1)) {
            return new Generator(d).generate(prompt, n, sampler, id -> {});
        }
    }

    private static int[] prompt(int n, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(TINY.vocabSize());
        return ids;
    }

    private static float[] filled(int n, float value) {
        float[] a = new float[n];
        Arrays.fill(a, value);
        return a;
    }

    private static void assertMessage(String flag, Executable e) {
        String message = assertThrows(IllegalArgumentException.class, e).getMessage();
        assertTrue(message.contains(flag), message);
    }
}
