package io.jgpt.cli;

import io.jgpt.JgptException;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.generate.Generator;
import io.jgpt.generate.Sampler;
import io.jgpt.tokenizer.Gpt2Tokenizer;
import io.jgpt.tokenizer.TextCodec;
import io.jgpt.generate.TextStream;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Generates text after a prompt, streaming each token to stdout as it is produced. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text after a prompt (GPT-2 tokenizer), printing tokens as they are produced.")
public final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Option(names = "--prompt", required = true, description = "Text to continue.")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "50", description = "Tokens to generate at most; default ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 picks the most likely token (greedy); higher is more random; default ${DEFAULT-VALUE}.")
    float temperature;

    @Option(names = "--top-k", description = "Sample only among the k most likely tokens (1 to vocab size).")
    Integer topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling: the most likely tokens holding probability p, in (0, 1]; default ${DEFAULT-VALUE}.")
    float topP;

    @Option(names = "--seed", defaultValue = "1337", description = "Seed for the weights and for sampling; default ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--no-cache", description = "Recompute the whole window every token (the book's loop) instead of using a KV cache.")
    boolean noCache;

    @Override
    public Integer call() {
        Checks.nonNegative("--max-new-tokens", maxNewTokens);
        if (prompt.isEmpty()) throw new JgptException("--prompt must not be empty");
        TextCodec codec = new Gpt2Tokenizer();
        int[] ids = codec.encode(prompt);
        try (Ops ops = device.open()) {
            GPTModel gpt = ModelSource.open(model.preset, ops, seed, c -> model.applyOverrides(c).withDropRate(0f));
            int vocab = gpt.config().vocabSize();
            Sampler sampler = new Sampler(vocab, temperature, topK != null ? topK : vocab, topP, seed);
            PrintStream out = System.out;
            out.print(prompt);
            out.flush();
            TextStream text = new TextStream(codec, piece -> {
                out.print(piece);
                out.flush();
            });
            new Generator(gpt, sampler, !noCache).generate(ids, maxNewTokens, text);
            text.finish();
            out.println();
        }
        return 0;
    }
}
