package io.jgpt.api;

import io.jgpt.Backends;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.cpu.WeightMatrix;
import io.jgpt.decode.Decoder;
import io.jgpt.decode.DecoderSource;
import io.jgpt.decode.DecoderWeights;
import io.jgpt.generate.Decoding;
import io.jgpt.generate.Generator;
import io.jgpt.generate.ModelDecoding;
import io.jgpt.generate.Sampler;
import io.jgpt.generate.TextStream;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.ops.Precision;
import io.jgpt.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * jgpt's public entry point for applications: load a GPT-2 (a checkpoint directory, a run directory, Hugging
 * Face weights, an llm.c file or a preset), tokenize, generate text with sampling options, close. Everything
 * outside {@code io.jgpt.api} is internal and may change.
 *
 * <pre>{@code
 * try (LanguageModel gpt = LanguageModel.load("runs/demo")) {
 *     gpt.generate("Once upon a time", Sampling.greedy(40), System.out::print);
 * }
 * }</pre>
 *
 * <p>On the CPU (the default) generation runs on the memory-speed decoder with the weights mapped from the
 * file; {@code device("cuda")} runs the training model's KV-cache path on the GPU (prompts decoded together,
 * each step replayed from a recorded CUDA graph, greedy tokens chosen on the device), and {@code cache(false)}
 * the book's full-window loop. Not thread-safe: one generation at a time per instance.
 */
public final class LanguageModel implements AutoCloseable {

    /** How to load: every field has a default ({@link #defaults()}); change them with the withers. */
    public record Options(String device, int threads, Weights weights, boolean cache, int batch, long seed,
                          Precision precision) {
        public Options {
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(precision, "precision");
            if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
            if (batch < 1) throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        }

        /** CPU, every core, the checkpoint's weight type, KV cache on, one sequence at a time, seed 1337. */
        public static Options defaults() {
            return new Options("cpu", Runtime.getRuntime().availableProcessors(), Weights.AS_STORED, true, 1, 1337,
                    Precision.FP32);
        }

        /** "cpu", "cuda" or "cuda:N". */
        public Options device(String device) {
            return new Options(device, threads, weights, cache, batch, seed, precision);
        }

        public Options threads(int threads) {
            return new Options(device, threads, weights, cache, batch, seed, precision);
        }

        /** The weights' element type on the CPU decoder. */
        public Options weights(Weights weights) {
            return new Options(device, threads, weights, cache, batch, seed, precision);
        }

        /** false: recompute the whole window every token (the book's loop), the reference. */
        public Options cache(boolean cache) {
            return new Options(device, threads, weights, cache, batch, seed, precision);
        }

        /** How many prompts {@link #generateAll} decodes together. */
        public Options batch(int batch) {
            return new Options(device, threads, weights, cache, batch, seed, precision);
        }

        /** The model path's backend precision (the CPU decoder's is {@link #weights}). */
        public Options precision(Precision precision) {
            return new Options(device, threads, weights, cache, batch, seed, precision);
        }

        /** Initialises a preset's random weights. */
        public Options seed(long seed) {
            return new Options(device, threads, weights, cache, batch, seed, precision);
        }
    }

    /** Element type of the decoder's weight matrices (arithmetic is float32 either way). */
    public enum Weights {
        /** As the checkpoint stores them (F16 is widened to F32); F32 for presets and llm.c files. */
        AS_STORED,
        F32,
        /** bfloat16: half the bytes per token, rounded to nearest even from wider weights. */
        BF16
    }

    /**
     * How to pick tokens: temperature 0 is greedy; topK 0 keeps every token; topP 1 keeps every token. Prompt
     * i of a batch samples with {@code seed + i}.
     */
    public record Sampling(int maxNewTokens, float temperature, int topK, float topP, long seed) {
        public Sampling {
            if (maxNewTokens < 0) throw new IllegalArgumentException("--max-new-tokens must be >= 0, got " + maxNewTokens);
            if (topK < 0) throw new IllegalArgumentException("--top-k must be >= 0, got " + topK);
        }

        public static Sampling greedy(int maxNewTokens) {
            return new Sampling(maxNewTokens, 0f, 0, 1f, 0);
        }
    }

    /** A finished generation: the new text and token ids, and whether it ended at {@code <|endoftext|>}. */
    public record Completion(String prompt, String text, int[] tokens, boolean endOfText) {}

    /** Loads on another thread while the weights open. */
    private final CompletableFuture<Gpt2Tokenizer> tokenizer = CompletableFuture.supplyAsync(Gpt2Tokenizer::new);
    private final Options options;
    private final Ops ops;                 // null on the CPU decoder
    private final GPTModel model;          // null on the CPU decoder
    private final DecoderWeights weights;  // null on the model path
    private final GPTConfig config;

    private LanguageModel(String spec, Options options, UnaryOperator<GPTConfig> overrides) {
        this.options = options;
        if (options.device().equalsIgnoreCase("cpu") && options.cache()) {
            if (options.precision() != Precision.FP32) {
                throw new IllegalArgumentException("--precision " + options.precision().flag() + " applies to the "
                        + "model path (--no-cache or --device cuda); the CPU decoder's weight type is --weights");
            }
            ops = null;
            model = null;
            weights = DecoderSource.open(spec, type(options.weights()), options.seed(), overrides);
            config = weights.config();
        } else {
            if (options.weights() == Weights.BF16) {
                throw new IllegalArgumentException("--weights bf16 needs the CPU decoder (--device cpu, with the cache)");
            }
            ops = Backends.open(options.device(), options.threads(), "auto", options.precision());
            try {
                model = ModelSource.open(spec, ops, options.seed(), c -> overrides.apply(c).withDropRate(0f));
            } catch (RuntimeException e) {
                ops.close();
                throw e;
            }
            weights = null;
            config = model.config();
        }
    }

    /** Loads {@code model} (a path or a preset name) with the default options. */
    public static LanguageModel load(String model) {
        return load(model, Options.defaults());
    }

    public static LanguageModel load(String model, Options options) {
        return load(model, options, UnaryOperator.identity());
    }

    /** As {@link #load(String, Options)}, with architecture overrides for a preset (the CLI's flags). */
    public static LanguageModel load(String model, Options options, UnaryOperator<GPTConfig> presetOverrides) {
        return new LanguageModel(model, options, presetOverrides);
    }

    /** The model's shape (vocabulary, positions, width, heads, layers). */
    public GPTConfig config() {
        return config;
    }

    public int vocabSize() {
        return config.vocabSize();
    }

    public int contextLength() {
        return config.contextLength();
    }

    /** Bytes of weights held; null-free for both paths (the model path counts its parameters in float32). */
    public long weightBytes() {
        if (weights != null) return weights.bytes();
        return 4L * model.parameters().stream().mapToLong(p -> p.value().numel()).sum();
    }

    /** GPT-2 BPE ids of {@code text}. */
    public int[] tokenize(String text) {
        return tokenizer().encode(text);
    }

    public String detokenize(int[] ids) {
        return tokenizer().decode(ids);
    }

    /** Continues {@code prompt}, passing each new piece of text to {@code onText} as soon as it is decoded. */
    public Completion generate(String prompt, Sampling sampling, Consumer<String> onText) {
        return generate(List.of(prompt), sampling, List.of(onText)).get(0);
    }

    /** Continues every prompt; {@link Options#batch} of them decode together. */
    public List<Completion> generateAll(List<String> prompts, Sampling sampling) {
        List<Consumer<String>> quiet = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) quiet.add(piece -> { });
        return generate(prompts, sampling, quiet);
    }

    private List<Completion> generate(List<String> prompts, Sampling sampling, List<Consumer<String>> onText) {
        List<Completion> out = new ArrayList<>();
        for (int from = 0; from < prompts.size(); from += options.batch()) {
            int to = Math.min(prompts.size(), from + options.batch());
            try (Decoding decoding = decoding(to - from)) {
                List<Generator.Request> requests = new ArrayList<>();
                List<TextStream> streams = new ArrayList<>();
                for (int i = from; i < to; i++) {
                    if (prompts.get(i).isEmpty()) throw new IllegalArgumentException("prompt " + (i + 1) + " is empty");
                    TextStream stream = new TextStream(tokenizer(), onText.get(i));
                    streams.add(stream);
                    requests.add(new Generator.Request(tokenize(prompts.get(i)), sampling.maxNewTokens(), sampler(sampling, i), stream));
                }
                List<int[]> tokens = new Generator(decoding).generateAll(requests);
                for (int i = 0; i < tokens.size(); i++) {
                    streams.get(i).finish();
                    int[] t = tokens.get(i);
                    out.add(new Completion(prompts.get(from + i), detokenize(t), t, t.length < sampling.maxNewTokens()));
                }
            }
        }
        return out;
    }

    private Gpt2Tokenizer tokenizer() {
        try {
            return tokenizer.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error r) throw r;
            throw e;
        }
    }

    private Sampler sampler(Sampling s, int index) {
        int v = config.vocabSize();
        return new Sampler(v, s.temperature(), s.topK() == 0 ? v : s.topK(), s.topP(), s.seed() + index);
    }

    private Decoding decoding(int sequences) {
        if (weights != null) {
            return new Decoder(weights, options.threads(), sequences);
        }
        return options.cache() ? ModelDecoding.cached(model, sequences) : ModelDecoding.fullWindow(model, sequences);
    }

    private static WeightMatrix.Type type(Weights w) {
        return switch (w) {
            case AS_STORED -> null;
            case F32 -> WeightMatrix.Type.F32;
            case BF16 -> WeightMatrix.Type.BF16;
        };
    }

    @Override
    public void close() {
        if (weights != null) weights.close();
        if (ops != null) ops.close();
    }
}
