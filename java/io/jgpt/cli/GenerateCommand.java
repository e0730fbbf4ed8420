package io.jgpt.cli;

import io.jgpt.JgptException;
import io.jgpt.api.LanguageModel;
import io.jgpt.api.LanguageModel.Completion;
import io.jgpt.api.LanguageModel.Sampling;
import io.jgpt.api.LanguageModel.Weights;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.generate.Sampler;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Generates text after a prompt, streaming each token to stdout as it is produced; or, with {@code --prompts},
 * continues every prompt of a file, decoded together, and prints one JSON line per prompt. Runs on the public
 * {@link LanguageModel} API.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text after a prompt (GPT-2 tokenizer), printing tokens as they are produced.")
public final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    DeviceOptions device = new DeviceOptions();

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", required = true, description = "Text to continue.")
        String prompt;

        @Option(names = "--prompts", required = true, description = "A file of prompts (one per line, or JSONL with a \"prompt\" field), decoded together; prints one JSON line per prompt.")
        Path prompts;
    }

    @Option(names = "--max-new-tokens", defaultValue = "50", description = "Tokens to generate at most; default ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 picks the most likely token (greedy); higher is more random; default ${DEFAULT-VALUE}.")
    float temperature;

    @Option(names = "--top-k", description = "Sample only among the k most likely tokens (1 to vocab size).")
    Integer topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling: the most likely tokens holding probability p, in (0, 1]; default ${DEFAULT-VALUE}.")
    float topP;

    @Option(names = "--seed", defaultValue = "1337", description = "Seed for sampling (prompt i of --prompts uses seed + i) and a preset's random weights; default ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--no-cache", description = "Recompute the whole window every token (the book's loop) instead of using a KV cache.")
    boolean noCache;

    @Option(names = "--weights", description = "CPU decoder weight type: f32 or bf16 (default: as the checkpoint stores them).")
    String weights;

    @Option(names = "--batch", defaultValue = "32", description = "With --prompts: how many prompts decode together; default ${DEFAULT-VALUE}.")
    int batch;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Checks.nonNegative("--max-new-tokens", maxNewTokens);
        Checks.positive("--batch", batch);
        if (temperature == 0) {
            for (String flag : List.of("--top-k", "--top-p")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(flag)) {
                    throw new JgptException(flag + " has no effect with --temperature 0 (greedy: always the most likely token); give a temperature above 0 to sample");
                }
            }
        }
        if (input.prompts == null && spec.commandLine().getParseResult().hasMatchedOption("--batch")) {
            throw new JgptException("--batch applies to --prompts only (one --prompt decodes alone)");
        }
        device.check();
        List<String> prompts = input.prompts != null ? PromptFile.read(input.prompts) : List.of(input.prompt);
        if (input.prompt != null && input.prompt.isEmpty()) throw new JgptException("--prompt must not be empty");
        LanguageModel.Options options = LanguageModel.Options.defaults()
                .device(device.device).threads(device.threads()).precision(device.precision()).weights(weightType()).cache(!noCache)
                .batch(Math.min(batch, prompts.size())).seed(seed);
        Sampling sampling = new Sampling(maxNewTokens, temperature, topK != null ? topK : 0, topP, seed);
        PrintStream out = System.out;
        Notes.randomWeights(model.preset);
        try (LanguageModel gpt = LanguageModel.load(model.preset, options, model::applyOverrides)) {
            // A loaded model keeps its shape: architecture flags (--context included) must agree with it.
            if (!ModelSource.isPreset(model.preset)) model.checkLoaded(gpt.config(), model.preset, false);
            // The sampler's own checks, with the vocabulary now known (a given --top-k 0 is an error, not "all").
            new Sampler(gpt.vocabSize(), temperature, topK != null ? topK : gpt.vocabSize(), topP, seed);
            if (input.prompt != null) {
                out.print(input.prompt);
                out.flush();
                gpt.generate(input.prompt, sampling, piece -> {
                    out.print(piece);
                    out.flush();
                });
                out.println();
                return 0;
            }
            long start = System.nanoTime();
            List<Completion> done = gpt.generateAll(prompts, sampling);
            double seconds = (System.nanoTime() - start) / 1e9;
            long tokens = 0;
            for (int i = 0; i < done.size(); i++) {
                out.println(PromptFile.jsonLine(i, done.get(i)));
                tokens += done.get(i).tokens().length;
            }
            System.err.printf("generate: %d prompts, %d new tokens in %.2f s: %.1f tokens/s over all prompts (batch %d)%n",
                    done.size(), tokens, seconds, tokens / seconds, options.batch());
        }
        return 0;
    }

    private Weights weightType() {
        return weights == null ? Weights.AS_STORED : Checks.f32OrBf16("--weights", weights, Weights.F32, Weights.BF16);
    }
}
