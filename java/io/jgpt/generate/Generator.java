package io.jgpt.generate;

import io.jgpt.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Autoregressive generation: the book's chapter 5 {@code generate} loop, with the next token chosen by a
 * {@link Sampler} and handed to a callback as soon as it exists, for one prompt or several decoded together
 * (each with its own sampler, length limit and stop).
 *
 * <p>Each prompt is prefilled once, then every step feeds each unfinished sequence its newest token, in one
 * {@link Decoding#step} for all of them. Generation of a sequence stops at {@code <|endoftext|>} (not
 * emitted) or after its {@code maxNewTokens}.
 *
 * <p>Context handling: a prompt longer than the capacity keeps its last {@code capacity} tokens. A cache
 * cannot slide (its keys are tied to the absolute positions they were computed at), so when a sequence's
 * cache is full it is refilled from its last {@code capacity/2} tokens and generation continues: one
 * prefill of half a context per half a context of new tokens, at the price of sometimes seeing only half a
 * context of history. The full-window reference ({@link ModelDecoding#fullWindow}) never fills; until the
 * first refill both compute the same thing.
 */
public final class Generator {

    /** One prompt to continue, with its own sampling state and limit; {@code onToken} sees each new token. */
    public record Request(int[] prompt, int maxNewTokens, Sampler sampler, IntConsumer onToken) {
        public Request {
            if (prompt.length == 0) throw new IllegalArgumentException("--prompt must contain at least one token");
            if (maxNewTokens < 0) throw new IllegalArgumentException("--max-new-tokens must be >= 0, got " + maxNewTokens);
        }
    }

    private final Decoding model;

    public Generator(Decoding model) {
        this.model = model;
    }

    /** Generates up to {@code maxNewTokens} tokens after {@code prompt}; returns them. */
    public int[] generate(int[] prompt, int maxNewTokens, Sampler sampler, IntConsumer onToken) {
        return generateAll(List.of(new Request(prompt, maxNewTokens, sampler, onToken))).get(0);
    }

    /** Decodes every request together (at most {@link Decoding#sequences()}); returns each one's new tokens. */
    public List<int[]> generateAll(List<Request> requests) {
        int n = requests.size();
        if (n > model.sequences()) {
            throw new IllegalArgumentException(n + " prompts, but the decoder holds " + model.sequences() + " sequences");
        }
        int stop = model.vocabSize() > Gpt2Tokenizer.END_OF_TEXT ? Gpt2Tokenizer.END_OF_TEXT : -1;
        int capacity = model.capacity();
        int[][] tokens = new int[n][]; // history: prompt, then new tokens
        int[] length = new int[n];
        float[][] logits = new float[n][];
        for (int s = 0; s < n; s++) {
            Request r = requests.get(s);
            tokens[s] = Arrays.copyOf(r.prompt(), r.prompt().length + r.maxNewTokens());
            length[s] = r.prompt().length;
            model.reset(s);
            if (r.maxNewTokens() > 0) logits[s] = model.prefill(s, tail(tokens[s], length[s], capacity));
        }
        // When every sampler is greedy the decoding chooses the tokens itself (on a GPU, without sending the
        // logits back); chosen[s] is then sequence s's next token, -1 while it is still to be sampled.
        boolean greedy = requests.stream().allMatch(r -> r.sampler().greedy());
        int[] chosen = new int[n];
        Arrays.fill(chosen, -1);
        List<Integer> active = new ArrayList<>();
        for (int s = 0; s < n; s++) if (requests.get(s).maxNewTokens() > 0) active.add(s);
        while (!active.isEmpty()) {
            List<Integer> continuing = new ArrayList<>();
            for (int s : active) {
                Request r = requests.get(s);
                int next = chosen[s] >= 0 ? chosen[s] : r.sampler().sample(logits[s]);
                if (next == stop) continue;
                tokens[s][length[s]++] = next;
                r.onToken().accept(next);
                if (length[s] - r.prompt().length < r.maxNewTokens()) continuing.add(s);
            }
            List<Integer> batch = new ArrayList<>();
            for (int s : continuing) {
                if (model.length(s) == capacity) {
                    model.reset(s);
                    logits[s] = model.prefill(s, tail(tokens[s], length[s], Math.max(1, capacity / 2)));
                    chosen[s] = -1;
                } else {
                    batch.add(s);
                }
            }
            if (!batch.isEmpty()) {
                int[] seqs = batch.stream().mapToInt(Integer::intValue).toArray();
                int[] ids = new int[seqs.length];
                for (int i = 0; i < seqs.length; i++) ids[i] = tokens[seqs[i]][length[seqs[i]] - 1];
                if (greedy) {
                    int[] picked = model.stepGreedy(seqs, ids);
                    for (int i = 0; i < seqs.length; i++) chosen[seqs[i]] = picked[i];
                } else {
                    float[][] out = model.step(seqs, ids);
                    for (int i = 0; i < seqs.length; i++) logits[seqs[i]] = out[i];
                }
            }
            active = continuing;
        }
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < n; s++) out.add(Arrays.copyOfRange(tokens[s], requests.get(s).prompt().length, length[s]));
        return out;
    }

    /** The last min(length, n) of the first {@code length} tokens. */
    static int[] tail(int[] tokens, int length, int n) {
        return Arrays.copyOfRange(tokens, Math.max(0, length - n), length);
    }
}
