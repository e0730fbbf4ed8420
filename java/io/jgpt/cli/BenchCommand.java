package io.jgpt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.profile.ProfileReport;
import io.jgpt.profile.Profiler;
import io.jgpt.profile.Roofline;
import io.jgpt.profile.RooflineChart;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.FlopCount;
import io.jgpt.train.TrainingStep;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/** Times full training steps (forward, backward, AdamW) on random tokens after warm-up. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time training steps (forward, backward, AdamW) on random tokens and print ms/step and tokens/s.")
public final class BenchCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    DropoutOption dropout = new DropoutOption();

    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Spec
    CommandSpec spec;

    @Option(names = "--batch", defaultValue = "4", description = "Sequences per step; default ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--steps", defaultValue = "10", description = "Timed steps; default ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--warmup", defaultValue = "2",
            description = "Untimed steps first, at least; more follow until the JIT spends under 1%% of a step compiling; default ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--max-warmup", defaultValue = "30",
            description = "Most untimed steps while waiting for the JIT to settle (at least --warmup); default ${DEFAULT-VALUE}.")
    int maxWarmup;

    @Option(names = "--seed", defaultValue = "1337", description = "Seed for weights, tokens and dropout.")
    long seed;

    // Off by default like the PyTorch peer (native-build/torch_gpt2.py), so both time the same work; the
    // gradient norm is measured either way (a non-finite one skips the update).
    @Option(names = "--clip", defaultValue = "0", description = "Global gradient-norm bound (0: no clipping); default ${DEFAULT-VALUE}.")
    double clip;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Option(names = "--profile", description = "Per-kernel timing table of the timed steps, and a Chrome trace (runs the steps eagerly).")
    boolean profile;

    @Option(names = "--roofline", description = "With --profile: draw each kernel's achieved FLOP/s against its arithmetic intensity under the device's roof into this PNG (needs a Java runtime with java.desktop).")
    Path roofline;

    @Option(names = "--no-graph", description = "On CUDA, issue every step's kernels from the host instead of replaying a captured CUDA graph.")
    boolean noGraph;

    @Option(names = "--trace", defaultValue = "trace.json", description = "Where --profile writes the Chrome trace; default ${DEFAULT-VALUE}.")
    Path trace;

    @Option(names = "--peak-tflops", description = "Peak TFLOP/s for MFU (default on CUDA: the H100/H200 dense figures, 67 fp32, 495 TF32, 989 bf16).")
    Double peakTflops;

    @Override
    public Integer call() throws Exception {
        Checks.positive("--batch", batch);
        Checks.positive("--steps", steps);
        device.cudaOnly("--no-graph", noGraph);
        Checks.nonNegative("--warmup", warmup);
        Checks.nonNegative("--max-warmup", maxWarmup);
        Checks.finiteNonNegative("--clip", clip);
        if (!profile && spec.commandLine().getParseResult().hasMatchedOption("--trace")) {
            throw new JgptException("--trace names where --profile writes its trace; it has no effect without --profile");
        }
        if (maxWarmup < warmup && spec.commandLine().getParseResult().hasMatchedOption("--max-warmup")) throw new JgptException("--max-warmup " + maxWarmup + " is below --warmup " + warmup);
        Float rate = dropout.rate();
        GPTConfig cfg = rate == null ? model.config() : model.config().withDropRate(rate);
        if (roofline != null && !profile) throw new JgptException("--roofline needs --profile (it plots the profiled kernels)");
        if (roofline != null && !Roofline.drawable())
            throw new JgptException("--roofline: this Java runtime has no java.desktop to draw with; the --json output holds the roofline points");
        int time = cfg.contextLength();
        try (Ops ops = device.open()) {
            GPTModel gpt = new GPTModel(cfg, ops, seed);
            AdamW adamw = new AdamW(gpt.parameterArena(), AdamW.Settings.book(0.1f));
            // A profile times each kernel, which a replayed graph does not expose: profiled steps run eagerly.
            boolean graphs = !noGraph && !profile;
            TrainingStep trainingStep = new TrainingStep(gpt, adamw, clip, graphs);
            List<Batch> batches = List.of(randomBatch(cfg.vocabSize(), time));
            // With graphs the first step of the shape runs eagerly and the second records the graph: both untimed.
            int minWarmup = graphs ? Math.max(warmup, 2) : warmup;
            int warmed = Warmup.run(minWarmup, Math.max(minWarmup, maxWarmup), i -> {
                trainingStep.run(batches, 1e-4f, i, seed);
                ops.synchronize(); // a step's time, not the time to queue it
            });
            ops.synchronize();
            Profiler profiler = profile ? new Profiler(ops.clock()) : Profiler.OFF;
            ops.setProfiler(profiler);
            long start = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                trainingStep.run(batches, 1e-4f, warmed + i, seed);
                profiler.flush();
            }
            ops.synchronize();
            float loss = trainingStep.result().loss();
            double seconds = (System.nanoTime() - start) / 1e9;
            ops.setProfiler(Profiler.OFF);
            report(ops, cfg, time, warmed, seconds, loss, profiler, trainingStep.replaying());
        }
        return 0;
    }

    private Batch randomBatch(int vocab, int time) {
        SplittableRandom rng = new SplittableRandom(seed);
        int n = batch * time;
        int[] ids = new int[n + 1];
        for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(vocab);
        return new Batch(java.util.Arrays.copyOfRange(ids, 0, n), java.util.Arrays.copyOfRange(ids, 1, n + 1), batch, time);
    }

    private void report(Ops ops, GPTConfig cfg, int time, int warmed, double seconds, float loss, Profiler profiler,
                        boolean graph)
            throws Exception {
        double msPerStep = seconds * 1e3 / steps;
        double tokensPerS = (double) batch * time * steps / seconds;
        double tflops = FlopCount.perToken(cfg, time) * tokensPerS / 1e12;
        double tflopsLlmc = FlopCount.llmcPerToken(cfg, time) * tokensPerS / 1e12;
        double nominal = ProfileOutput.peaks(ops, device.precision()).tflopsPerSecond();
        Double peak = peakTflops != null ? peakTflops : nominal > 0 ? nominal : null;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("device", ops.name());
        out.put("precision", device.precision().flag());
        out.put("model", model.preset);
        out.put("params", cfg.parameterCount());
        out.put("batch", batch);
        out.put("context", time);
        out.put("warmup_steps", warmed);
        out.put("graph", graph);
        out.put("steps", steps);
        out.put("threads", ops.name().equals("cpu") ? device.threads() : null);
        out.put("ms_per_step", msPerStep);
        out.put("tokens_per_s", tokensPerS);
        out.put("tflops", tflops);
        out.put("mfu", peak == null ? null : tflops / peak);
        out.put("tflops_llmc", tflopsLlmc);
        out.put("mfu_llmc", peak == null ? null : tflopsLlmc / peak);
        out.put("peak_tflops", peak);
        out.put("last_loss", loss);
        ProfileReport profileReport = null;
        if (profile) {
            profileReport = ProfileOutput.report(profiler, ops, device.precision(), trace);
            out.put("profile_markdown", profileReport.toMarkdown());
            out.put("trace", trace.toString());
            Roofline r = Roofline.of(profileReport, ProfileOutput.peaks(ops, device.precision()));
            out.put("roofline", r);
            if (roofline != null) {
                RooflineChart.write(r, ops.name() + " " + model.preset + " batch " + batch + " x " + time, roofline);
                out.put("roofline_png", roofline.toString());
            }
        }
        if (json) {
            System.out.println(new ObjectMapper().writeValueAsString(out));
        } else {
            System.out.printf("%s %s %s (%,d params) batch %d x %d, %d steps after %d warm-up: %.1f ms/step, %,.0f tokens/s, %.2f TFLOP/s%s%n",
                    ops.name(), device.precision().flag(), model.preset, cfg.parameterCount(), batch, time, steps, warmed, msPerStep, tokensPerS, tflops,
                    peak == null ? "" : String.format(", MFU %.1f%%", 100 * tflops / peak));
            if (profileReport != null) ProfileOutput.print(profileReport, trace);
        }
    }
}
