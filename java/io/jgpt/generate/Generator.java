package io.jgpt.generate;

import io.jgpt.tokenizer.Gpt2Tokenizer;
import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;
import io.jgpt.model.KVCache;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Autoregressive generation for one sequence: the book's chapter 5 {@code generate} loop, with the next
 * token chosen by a {@link Sampler} and handed to a callback as soon as it exists.
 *
 * <p>With the cache (the default) the prompt is prefilled once and each step runs only the newest token.
 * Without it every step recomputes the whole window with the training forward pass, exactly as the book
 * does; that mode is the reference the cached one is tested against.
 *
 * <p>Context handling: a prompt longer than the context keeps its last {@code context} tokens. Without the
 * cache each step simply sees the last {@code context} tokens. The cache cannot slide (its keys are tied to
 * the absolute positions they were computed at), so when it is full it is refilled from the last
 * {@code context/2} tokens and generation continues: one prefill of half a context per half a context of
 * new tokens, instead of a full-context prefill for every token, at the price of sometimes seeing only half
 * a context of history. Until the first refill both modes compute the same thing.
 */
public final class Generator {

    /** GPT-2's {@code <|endoftext|>} id; generation stops there when the vocabulary has it. */

    private final GPTModel model;
    private final Sampler sampler;
    private final boolean useCache;

    public Generator(GPTModel model, Sampler sampler, boolean useCache) {
        this.model = model;
        this.sampler = sampler;
        this.useCache = useCache;
    }

    /**
     * Generates up to {@code maxNewTokens} tokens after {@code prompt}, calling {@code onToken} with each as
     * it is produced; stops early at {@code <|endoftext|>} (which is not emitted). Returns the new tokens.
     */
    public int[] generate(int[] prompt, int maxNewTokens, IntConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("--prompt must contain at least one token");
        if (maxNewTokens < 0) throw new IllegalArgumentException("--max-new-tokens must be >= 0, got " + maxNewTokens);
        int context = model.config().contextLength();
        int stop = model.config().vocabSize() > Gpt2Tokenizer.END_OF_TEXT ? Gpt2Tokenizer.END_OF_TEXT : -1;
        int[] tokens = Arrays.copyOf(prompt, prompt.length + maxNewTokens); // history: prompt, then new tokens
        int length = prompt.length;
        try (Step step = useCache ? new Cached(new KVCache(model, 1)) : new Full()) {
            float[] logits = step.prefill(tail(tokens, length, context));
            for (int i = 0; i < maxNewTokens; i++) {
                int next = sampler.sample(logits);
                if (next == stop) break;
                tokens[length++] = next;
                onToken.accept(next);
                if (i + 1 < maxNewTokens) logits = step.next(tokens, length);
            }
        }
        return Arrays.copyOfRange(tokens, prompt.length, length);
    }

    /** The last min(length, n) of the first {@code length} tokens. */
    static int[] tail(int[] tokens, int length, int n) {
        return Arrays.copyOfRange(tokens, Math.max(0, length - n), length);
    }

    /** Turns the token history into the logits of the next position. */
    private interface Step extends AutoCloseable {
        float[] prefill(int[] window);

        /** The history is tokens[0, length); the newest token is not yet in the model. */
        float[] next(int[] tokens, int length);

        @Override
        default void close() {}
    }

    /** The book's loop: the full (cropped) window through the training forward pass, without dropout. */
    private final class Full implements Step {
        @Override
        public float[] prefill(int[] window) {
            int v = model.config().vocabSize();
            float[] all = model.ops().download(model.forward(window, 1, window.length, DropoutPlan.eval()));
            return Arrays.copyOfRange(all, all.length - v, all.length);
        }

        @Override
        public float[] next(int[] tokens, int length) {
            return prefill(tail(tokens, length, model.config().contextLength()));
        }
    }

    /** Prefill once, then one token per step; refill from the last context/2 tokens when the cache is full. */
    private final class Cached implements Step {
        private final KVCache cache;

        Cached(KVCache cache) {
            this.cache = cache;
        }

        @Override
        public float[] prefill(int[] window) {
            cache.clear();
            return run(window);
        }

        @Override
        public float[] next(int[] tokens, int length) {
            if (cache.length() == cache.capacity()) {
                return prefill(tail(tokens, length, Math.max(1, cache.capacity() / 2)));
            }
            return run(new int[] {tokens[length - 1]});
        }

        private float[] run(int[] ids) {
            return model.ops().download(model.forwardCached(ids, 1, ids.length, cache));
        }

        @Override
        public void close() {
            cache.close();
        }
    }
}
