package io.jgpt.cli;

import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;
import io.jgpt.tokenizer.Gpt2Tokenizer;
import java.util.Arrays;
import java.util.function.Function;

/** The short greedy continuation the trainer prints after each epoch (the book's generate_text_simple). */
final class Samples {
    private Samples() {}

    static Function<GPTModel, String> greedy(String prompt, int newTokens) {
        Gpt2Tokenizer tokenizer = new Gpt2Tokenizer();
        int[] promptIds = tokenizer.encode(prompt);
        return model -> {
            int ctx = model.config().contextLength();
            int[] ids = Arrays.copyOf(promptIds, promptIds.length + newTokens);
            int n = promptIds.length;
            int v = model.config().vocabSize();
            for (int k = 0; k < newTokens; k++) {
                int from = Math.max(0, n - ctx);
                int[] window = Arrays.copyOfRange(ids, from, n);
                float[] logits = model.ops().download(model.forward(window, 1, window.length, DropoutPlan.eval()));
                int best = 0;
                int base = (window.length - 1) * v;
                for (int i = 1; i < v; i++) if (logits[base + i] > logits[base + best]) best = i;
                ids[n++] = best;
            }
            return tokenizer.decode(Arrays.copyOf(ids, n));
        };
    }
}
