package io.jgpt.cli;

import io.jgpt.JgptException;
import io.jgpt.generate.Generator;
import io.jgpt.generate.ModelDecoding;
import io.jgpt.generate.Sampler;
import io.jgpt.model.GPTModel;
import io.jgpt.tokenizer.Gpt2Tokenizer;
import java.util.Arrays;
import java.util.function.Function;

/** The short greedy continuation the trainer prints after each epoch (the book's generate_and_print_sample). */
final class Samples {
    private Samples() {}

    /** Checks the prompt against the model's vocabulary now, before any training, not when the first sample is due. */
    static Function<GPTModel, String> greedy(String prompt, int newTokens, int vocabSize) {
        Gpt2Tokenizer tokenizer = new Gpt2Tokenizer();
        int[] promptIds = tokenizer.encode(prompt);
        for (int i = 0; i < promptIds.length; i++) {
            if (promptIds[i] >= vocabSize) {
                throw new JgptException("--sample-prompt: token " + i + " ('" + tokenizer.decode(new int[] {promptIds[i]})
                        + "', id " + promptIds[i] + ") is outside the model's vocabulary of " + vocabSize);
            }
        }
        return model -> {
            Sampler greedy = Sampler.of(model.config().vocabSize(), 0f, 0);
            int[] generated;
            try (ModelDecoding decoding = ModelDecoding.cached(model, 1)) {
                generated = new Generator(decoding).generate(promptIds, newTokens, greedy, id -> { });
            }
            int[] all = Arrays.copyOf(promptIds, promptIds.length + generated.length);
            System.arraycopy(generated, 0, all, promptIds.length, generated.length);
            return tokenizer.decode(all);
        };
    }
}
