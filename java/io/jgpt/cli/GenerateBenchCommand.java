package io.jgpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jgpt.Backends;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.cpu.ReadBandwidth;
import io.jgpt.cpu.WeightMatrix;
import io.jgpt.decode.Decoder;
import io.jgpt.decode.DecoderSource;
import io.jgpt.decode.DecoderWeights;
import io.jgpt.generate.Decoding;
import io.jgpt.generate.ModelDecoding;
import io.jgpt.generate.Sampler;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Decoding speed on the CPU, against the machine's own read bandwidth measured in the same run:
 * <ol>
 *   <li>time to first token: from process start through loading (mapping) the checkpoint, tokenizing the
 *       prompt and its prefill to the first greedy token; then the peak resident memory of that
 *       single-sequence generation (before anything else is allocated);</li>
 *   <li>{@code --rounds} rounds of: a read-bandwidth probe, {@code --new-tokens} steps at batch 1, the same at
 *       batch {@code --batch}. The medians are reported, with the bandwidth bound (bandwidth / bytes read
 *       per token) and the fraction of it reached at batch 1.</li>
 * </ol>
 * Steps feed back the argmax token and never stop early, so every round decodes the same number of tokens.
 */
@Command(name = "bench-generate", mixinStandardHelpOptions = true,
        description = "Time CPU decoding: first token, tokens/s at batch 1 and N, peak RSS, fraction of measured read bandwidth.")
public final class GenerateBenchCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--threads", description = "Worker threads (default: all available processors).")
    Integer threads;

    @Option(names = "--weights", description = "f32 or bf16 (default: as the checkpoint stores them).")
    String weights;

    @Option(names = "--prompt-tokens", defaultValue = "16", description = "Prompt length in tokens; default ${DEFAULT-VALUE}.")
    int promptTokens;

    @Option(names = "--new-tokens", defaultValue = "64", description = "Decoding steps timed per round and batch; default ${DEFAULT-VALUE}.")
    int newTokens;

    @Option(names = "--batch", defaultValue = "8", description = "The larger batch timed; default ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--rounds", defaultValue = "3", description = "Rounds of (bandwidth, batch 1, batch N); default ${DEFAULT-VALUE}.")
    int rounds;

    @Option(names = "--bandwidth-mib", defaultValue = "1024", description = "Size of the bandwidth probe's buffer; default ${DEFAULT-VALUE}.")
    int bandwidthMib;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu (the memory-speed decoder) or cuda[:i] (the training model's KV-cache path, no bandwidth probe); default ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--json", description = "Print one JSON line instead of a table.")
    boolean json;

    private static final String TEXT = "The quick brown fox jumps over the lazy dog while the river runs past the old mill. ";

    @Override
    public Integer call() {
        ProcessAge processStart = ProcessAge.current();
        Checks.positive("--prompt-tokens", promptTokens);
        Checks.positive("--new-tokens", newTokens);
        Checks.positive("--batch", batch);
        Checks.positive("--rounds", rounds);
        Checks.positive("--bandwidth-mib", bandwidthMib);
        int workers = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Checks.positive("--threads", workers);
        if (!device.equalsIgnoreCase("cpu")) {
            if (weights != null) throw new io.jgpt.JgptException("--weights is for the CPU decoder; --device " + device + " runs float32");
            return onDevice(processStart, workers);
        }
        WeightMatrix.Type type = weights == null ? null
                : Checks.f32OrBf16("--weights", weights, WeightMatrix.Type.F32, WeightMatrix.Type.BF16);
        // What generate does at start-up: kernels warm up and the tokenizer loads while the weights are mapped.
        CompletableFuture<Gpt2Tokenizer> tokenizer = CompletableFuture.supplyAsync(Gpt2Tokenizer::new);
        java.util.Map<String, Double> startup = new java.util.LinkedHashMap<>(); // phase -> seconds since process start
        startup.put("main", processStart.seconds());
        try (DecoderWeights w = DecoderSource.open(model.preset, type, 1337, model::applyOverrides)) {
            // An error here closes the weights, which stops the kernels' warm-up reading them first.
            if (!ModelSource.isPreset(model.preset)) model.checkLoaded(w.config(), model.preset, false);
            checkFits(w.config().contextLength());
            CompletableFuture<Double> packedAt = w.packed().thenApply(done -> processStart.seconds());
            startup.put("weights_mapped", processStart.seconds());
            int[] prompt = prompt(tokenizer.join(), w.config().vocabSize());
            double firstToken;
            long peakRss;
            long cacheBytes;
            startup.put("prompt_tokenized", processStart.seconds());
            try (Decoder one = new Decoder(w, workers, 1)) {
                startup.put("kv_cache_allocated", processStart.seconds());
                w.awaitWarmUp();
                startup.put("kernels_compiled", processStart.seconds());
                int first = argmax(one.prefill(0, prompt));
                firstToken = processStart.seconds();
                startup.put("first_token", firstToken);
                decode(one, new int[] {first}, newTokens); // also warms the JIT up for the rounds
                // The rounds time the steady state: every (in, out) matrix streaming its panel copy. The peak
                // is read after the copying, whose one matrix in flight it includes.
                startup.put("weights_packed", packedAt.join());
                peakRss = ProcessMemory.peakResident();
                cacheBytes = one.cacheBytes();
            }
            List<Double> bandwidth = new ArrayList<>(), single = new ArrayList<>(), batched = new ArrayList<>();
            try (Decoder one = new Decoder(w, workers, 1); Decoder many = new Decoder(w, workers, batch)) {
                for (int r = 0; r < rounds; r++) {
                    bandwidth.add(ReadBandwidth.measure(workers, (long) bandwidthMib << 20, 3));
                    single.add(rate(one, prompt, 1));
                    batched.add(rate(many, prompt, batch));
                }
            }
            report(w, workers, startup, peakRss, cacheBytes, bandwidth, single, batched);
        }
        return 0;
    }

    /**
     * The same measurements through the model's KV-cache decoding on a backend ({@code --device cuda}): each
     * step runs every sequence's newest token together, and the argmax is taken on the device (one id per
     * sequence comes back).
     * Every round times the steps replayed from a recorded graph and, interleaved, issued eagerly, so the
     * graph's gain is measured in the same run. No bandwidth probe (it measures host memory).
     */
    private Integer onDevice(ProcessAge processStart, int workers) {
        try (Ops ops = Backends.open(device, workers, "auto", io.jgpt.ops.Precision.FP32)) {
            GPTModel gpt = ModelSource.open(model.preset, ops, 1337, model.flags(0f, false));
            checkFits(gpt.config().contextLength());
            int[] prompt = prompt(new Gpt2Tokenizer(), gpt.config().vocabSize());
            double firstToken;
            try (ModelDecoding one = ModelDecoding.cached(gpt, 1)) {
                argmax(one.prefill(0, prompt));
                firstToken = processStart.seconds();
            }
            List<Double> single = new ArrayList<>(), batched = new ArrayList<>();
            List<Double> singleEager = new ArrayList<>(), batchedEager = new ArrayList<>();
            boolean replayed = true;
            try (ModelDecoding one = ModelDecoding.cached(gpt, 1); ModelDecoding many = ModelDecoding.cached(gpt, batch);
                 ModelDecoding oneEager = ModelDecoding.cached(gpt, 1, false);
                 ModelDecoding manyEager = ModelDecoding.cached(gpt, batch, false)) {
                for (int r = 0; r < rounds + 1; r++) { // round 0 warms up
                    double[] rates = {rate(one, prompt, 1), rate(oneEager, prompt, 1), rate(many, prompt, batch),
                            rate(manyEager, prompt, batch)};
                    replayed &= one.replaying() && many.replaying();
                    if (r == 0) continue;
                    single.add(rates[0]);
                    singleEager.add(rates[1]);
                    batched.add(rates[2]);
                    batchedEager.add(rates[3]);
                }
            }
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("engine", "jgpt").put("device", device).put("model", model.preset).put("weights", "f32")
                    .put("prompt_tokens", promptTokens).put("new_tokens", newTokens).put("batch", batch).put("rounds", rounds)
                    .put("first_token_s", round(firstToken, 3)).put("graph_replay", replayed)
                    .put("decode_tok_s_b1", round(median(single), 2)).put("decode_tok_s_bn", round(median(batched), 2))
                    .put("decode_tok_s_b1_eager", round(median(singleEager), 2))
                    .put("decode_tok_s_bn_eager", round(median(batchedEager), 2));
            o.putPOJO("decode_tok_s_b1_rounds", single.stream().map(t -> round(t, 2)).toList());
            o.putPOJO("decode_tok_s_bn_rounds", batched.stream().map(t -> round(t, 2)).toList());
            o.putPOJO("decode_tok_s_b1_eager_rounds", singleEager.stream().map(t -> round(t, 2)).toList());
            o.putPOJO("decode_tok_s_bn_eager_rounds", batchedEager.stream().map(t -> round(t, 2)).toList());
            System.out.println(json ? o.toString() : o.toPrettyString());
        }
        return 0;
    }

    /**
     * Tokens per second over all sequences: prefill each sequence and take one step untimed (on a backend with
     * graphs, the eager step a recorded graph needs first), then time {@code newTokens} steps.
     */
    private double rate(Decoding d, int[] prompt, int sequences) {
        int[] next = new int[sequences];
        for (int s = 0; s < sequences; s++) {
            d.reset(s);
            next[s] = argmax(d.prefill(s, prompt));
        }
        decode(d, next, 1);
        long start = System.nanoTime();
        decode(d, next, newTokens);
        return (double) sequences * newTokens / ((System.nanoTime() - start) / 1e9);
    }

    /** {@code steps} greedy steps of every sequence, starting from their tokens {@code next}. */
    private static void decode(Decoding d, int[] next, int steps) {
        int[] seqs = new int[next.length];
        for (int s = 0; s < seqs.length; s++) seqs[s] = s;
        for (int i = 0; i < steps; i++) System.arraycopy(d.stepGreedy(seqs, next), 0, next, 0, next.length);
    }

    /** A round's prompt, its untimed step and its timed steps must fit the context. */
    private void checkFits(int context) {
        if (promptTokens + 1 + newTokens > context) {
            throw new io.jgpt.JgptException("--prompt-tokens + --new-tokens + 1 (" + (promptTokens + newTokens + 1)
                    + ") exceed the context length " + context);
        }
    }

    private int[] prompt(Gpt2Tokenizer tokenizer, int vocab) {
        int[] ids = tokenizer.encode(TEXT.repeat(1 + promptTokens / 8));
        int[] out = Arrays.copyOf(ids, promptTokens);
        for (int i = 0; i < out.length; i++) out[i] = Math.floorMod(out[i], vocab);
        return out;
    }

    /** The greedy token (temperature 0 is an argmax). */
    private static int argmax(float[] logits) {
        return Sampler.of(logits.length, 0f, 0).sample(logits);
    }

    private void report(DecoderWeights w, int workers, java.util.Map<String, Double> startup, long peakRss, long cacheBytes,
                        List<Double> bandwidth, List<Double> single, List<Double> batched) {
        double firstToken = startup.get("first_token");
        double bw = median(bandwidth), one = median(single), many = median(batched);
        long perToken = w.bytesPerToken();
        double bound = bw / perToken;
        double rssRatio = (double) peakRss / (w.bytes() + cacheBytes);
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("engine", "jgpt").put("model", model.preset).put("weights", w.type().name().toLowerCase())
                    .put("threads", workers).put("prompt_tokens", promptTokens).put("new_tokens", newTokens)
                    .put("batch", batch).put("rounds", rounds)
                    .put("first_token_s", round(firstToken, 3))
                    .put("decode_tok_s_b1", round(one, 2)).put("decode_tok_s_bn", round(many, 2))
                    .put("read_gb_s", round(bw / 1e9, 2)).put("bytes_per_token", perToken)
                    .put("bound_tok_s", round(bound, 2)).put("bandwidth_fraction", round(one / bound, 3))
                    .put("weight_bytes", w.bytes()).put("kv_cache_bytes_b1", cacheBytes)
                    .put("peak_rss_bytes_b1", peakRss).put("rss_over_weights_and_cache", round(rssRatio, 3));
            ObjectNode phases = o.putObject("startup_s");
            startup.forEach((k, v) -> phases.put(k, round(v, 3)));
            o.putPOJO("read_gb_s_rounds", bandwidth.stream().map(b -> round(b / 1e9, 2)).toList());
            o.putPOJO("decode_tok_s_b1_rounds", single.stream().map(t -> round(t, 2)).toList());
            o.putPOJO("decode_tok_s_bn_rounds", batched.stream().map(t -> round(t, 2)).toList());
            System.out.println(o);
            return;
        }
        System.out.printf("model %s, %s weights, %d threads, prompt %d tokens, %d steps per round, %d rounds%n",
                model.preset, w.type().name().toLowerCase(), workers, promptTokens, newTokens, rounds);
        System.out.printf("  first token (from process start)  %8.3f s; phases: %s%n", firstToken, String.join(", ",
                startup.entrySet().stream().map(e -> String.format("%s %.2f", e.getKey(), e.getValue())).toList()));
        System.out.printf("  decode, batch 1                   %8.2f tokens/s (rounds %s)%n", one, list(single));
        System.out.printf("  decode, batch %-3d                 %8.2f tokens/s over all sequences (rounds %s)%n", batch, many, list(batched));
        System.out.printf("  read bandwidth                    %8.2f GB/s (rounds %s)%n", bw / 1e9, list(bandwidth.stream().map(b -> b / 1e9).toList()));
        System.out.printf("  bytes read per token              %8.1f MB -> bound %.2f tokens/s; batch 1 reaches %.1f %%%n",
                perToken / 1e6, bound, 100 * one / bound);
        System.out.printf("  peak RSS at batch 1               %8.1f MB = %.2f x (weights %.1f MB + KV cache %.1f MB)%n",
                peakRss / 1e6, rssRatio, w.bytes() / 1e6, cacheBytes / 1e6);
    }

    private static String list(List<Double> v) {
        return String.join(", ", v.stream().map(x -> String.format("%.2f", x)).toList());
    }

    private static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
