package io.jgpt.cli;

import io.jgpt.JgptException;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.checkpoint.TrainerState;
import io.jgpt.checkpoint.TrainingCheckpoint;
import io.jgpt.data.BatchLoader;
import io.jgpt.data.Corpus;
import io.jgpt.data.SlidingWindowDataset;
import io.jgpt.data.TokenSource;
import io.jgpt.data.TrainValSplit;
import io.jgpt.dist.Communicator;
import io.jgpt.dist.World;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.ops.Precision;
import io.jgpt.profile.Profiler;
import io.jgpt.train.AdamW;
import io.jgpt.train.DataParallel;
import io.jgpt.train.LrSchedule;
import io.jgpt.train.Trainer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Pretrains (or continues training) a GPT on text files or token shards: chapter 5 and appendix D. */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train a GPT on text or token shards, with evaluation, samples and checkpoints.")
public final class TrainCommand implements Callable<Integer> {

    @Option(names = "--data", required = true, arity = "1..*", description = "UTF-8 text files, or llm.c token shards (.bin).")
    List<Path> data;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Option(names = "--batch", defaultValue = "2", description = "Sequences per micro-batch; default ${DEFAULT-VALUE}.")
    int batch;

    static final class Length {
        @Option(names = "--epochs", description = "Passes over the training windows.")
        Integer epochs;

        @Option(names = "--steps", description = "Optimizer steps.")
        Long steps;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Length length;

    @Option(names = "--lr", defaultValue = "4e-4", description = "Peak learning rate; default ${DEFAULT-VALUE}.")
    float lr;

    @Option(names = "--weight-decay", defaultValue = "0.1", description = "AdamW weight decay; default ${DEFAULT-VALUE}.")
    float weightDecay;

    @Option(names = "--decay-matrices-only", description = "Apply weight decay to 2-D weights only (not biases and LayerNorm).")
    boolean decayMatricesOnly;

    @Option(names = "--warmup", defaultValue = "0", description = "Linear warm-up steps; default ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--initial-lr", description = "Learning rate at the start of warm-up (default: lr / 100 with --warmup).")
    Float initialLr;

    @Option(names = "--min-lr", description = "Cosine-decay floor (default: the peak rate, i.e. no decay).")
    Float minLr;

    @Option(names = "--clip", defaultValue = "0", description = "Global gradient-norm bound (0: no clipping); default ${DEFAULT-VALUE}.")
    double clip;

    @Option(names = "--accum", defaultValue = "1", description = "Micro-batches per optimizer step; default ${DEFAULT-VALUE}.")
    int accum;

    @Option(names = "--stride", description = "Sliding-window stride (default: the context length).")
    Integer stride;

    @Option(names = "--val-fraction", defaultValue = "0.1", description = "Share held out for validation; default ${DEFAULT-VALUE}.")
    double valFraction;

    @Option(names = "--no-shuffle", description = "Keep window order (batch k = windows kB … kB+B-1).")
    boolean noShuffle;

    @Option(names = "--seed", defaultValue = "123", description = "Seed for weights, shuffling and dropout; default ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--eval-every", defaultValue = "0", description = "Evaluate every N steps (0: at the end only).")
    int evalEvery;

    @Option(names = "--eval-batches", defaultValue = "5", description = "Batches per evaluation (0: all); default ${DEFAULT-VALUE}.")
    int evalBatches;

    @Option(names = "--save-every", defaultValue = "0", description = "Checkpoint every N steps (0: at the end only).")
    int saveEvery;

    @Option(names = "--keep", defaultValue = "3", description = "Checkpoints kept; default ${DEFAULT-VALUE}.")
    int keep;

    @Option(names = "--max-bad-steps", defaultValue = "5", description = "Stop after N consecutive non-finite steps; default ${DEFAULT-VALUE}.")
    int maxBadSteps;

    @Option(names = "--log-every", defaultValue = "1", description = "Read loss, gradient norm and the skip flag back from the device every N steps (metrics, warnings, --max-bad-steps); default ${DEFAULT-VALUE}.")
    int logEvery;

    @Option(names = "--sample-prompt", description = "Text to continue after each epoch.")
    String samplePrompt;

    @Option(names = "--out", required = true, description = "Run directory: checkpoints/, metrics.jsonl, loss.png.")
    Path out;

    @Option(names = "--resume", description = "Continue from a checkpoint or run directory.")
    Path resume;

    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;

    @Option(names = "--bucket-mb", defaultValue = "25", description = "Gradient bucket size for reduction across ranks, MB; default ${DEFAULT-VALUE}.")
    int bucketMb;

    @Option(names = "--profile", description = "Per-kernel timing of the training steps, printed at the end, and OUT/trace.json (runs the steps eagerly).")
    boolean profile;

    @Option(names = "--no-graph", description = "On CUDA, issue every step's kernels from the host instead of replaying a captured CUDA graph.")
    boolean noGraph;

    @Override
    public Integer call() {
        validate();
        World world = World.fromEnvironment();
        // Progress and logs on rank 0 only; the other ranks report errors (read before any logger exists).
        if (world.rank() != 0) System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
        Communicator comm = Ranks.join(world, device.device);
        try {
            return train(comm);
        } catch (RuntimeException e) {
            Ranks.abortAll(comm, e);
            throw e;
        } finally {
            if (comm != null) comm.close();
        }
    }

    private int train(Communicator comm) {
        boolean lead = comm == null || comm.rank() == 0;
        try (Ops ops = device.open()) {
            GPTModel gpt = ModelSource.open(resume != null ? resume.toString() : model.preset, ops, seed,
                    c -> model.applyOverrides(c));
            GPTConfig cfg = gpt.config();
            int time = model.context != null ? model.context : cfg.contextLength();
            if (time > cfg.contextLength()) {
                throw new JgptException("--context " + time + " exceeds the model's " + cfg.contextLength() + " positions");
            }
            TrainValSplit<TokenSource> split = Corpus.load(data, valFraction, cfg.vocabSize());
            int windowStride = stride != null ? stride : time;
            SlidingWindowDataset trainSet = new SlidingWindowDataset(split.train(), time, windowStride);
            BatchLoader trainLoader = new BatchLoader(trainSet, batch, !noShuffle, true, seed);
            BatchLoader trainEval = BatchLoader.evaluation(trainSet, batch);
            BatchLoader valEval = valFraction > 0 ? BatchLoader.evaluation(new SlidingWindowDataset(split.val(), time, time), batch) : null;
            long steps = length.steps != null ? length.steps : (long) length.epochs * trainLoader.batchesPerEpoch() / accum;
            if (steps < 1) throw new JgptException("one epoch has " + trainLoader.batchesPerEpoch() + " batches, fewer than --accum " + accum);
            AdamW adamw = new AdamW(gpt.parameterArena(), new AdamW.Settings(0.9f, 0.999f, 1e-8f, weightDecay, decayMatricesOnly));
            TrainerState state = resume == null ? null : TrainingCheckpoint.restore(resume, gpt, adamw);
            float floor = minLr != null ? minLr : lr;
            float start = initialLr != null ? initialLr : (warmup > 0 ? lr / 100 : lr);
            Trainer.Settings settings = new Trainer.Settings(batch, accum, steps, new LrSchedule(lr, start, floor, warmup, steps),
                    clip, seed, evalEvery, evalBatches, saveEvery, keep, maxBadSteps, logEvery, !noProgress && lead);
            Trainer trainer = new Trainer(gpt, adamw, trainLoader, trainEval, valEval, out, settings,
                    samplePrompt == null || !lead ? null : Samples.greedy(samplePrompt, 50));
            DataParallel parallel = comm == null ? null : new DataParallel(comm, gpt.parameterArena(), (long) bucketMb << 20);
            if (parallel != null) {
                parallel.broadcastWeights();
                trainer.distribute(parallel);
            }
            Profiler profiler = profile ? new Profiler(ops.clock()) : Profiler.OFF;
            trainer.profile(profiler);
            trainer.graphs(!noGraph && !profile);
            if (parallel != null) parallel.profile(profiler);
            Trainer.Outcome outcome;
            try {
                outcome = runStoppable(trainer, state);
            } finally {
                if (parallel != null) parallel.close();
            }
            if (!lead) return 0;
            if (profile) ProfileOutput.print(profiler, ops, device.precision() == Precision.TF32, out.resolve("trace.json"));
            System.out.printf("trained %d steps; train loss %.3f, val loss %.3f%ncheckpoint: %s%n", outcome.steps(),
                    outcome.trainLoss(), outcome.valLoss(), outcome.checkpoint());
            return 0;
        }
    }

    /** Ctrl-C asks the trainer to save and stop; the JVM exits once that checkpoint is on disk. */
    private static Trainer.Outcome runStoppable(Trainer trainer, TrainerState state) {
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            trainer.requestStop();
            try {
                finished.await(10, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return trainer.run(state);
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Already exiting because of Ctrl-C: the hook is running and now returns.
            }
        }
    }

    private void validate() {
        Checks.positive("--batch", batch);
        if (length.epochs != null) Checks.positive("--epochs", length.epochs);
        if (length.steps != null) Checks.positive("--steps", length.steps);
        if (model.context != null) Checks.positive("--context", model.context);
        Checks.positive("--accum", accum);
        Checks.positive("--bucket-mb", bucketMb);
        Checks.positive("--keep", keep);
        Checks.positive("--max-bad-steps", maxBadSteps);
        Checks.positive("--log-every", logEvery);
        Checks.nonNegative("--warmup", warmup);
        Checks.nonNegative("--eval-every", evalEvery);
        Checks.nonNegative("--save-every", saveEvery);
        if (stride != null) Checks.positive("--stride", stride);
        Checks.finiteNonNegative("--lr", lr);
        Checks.finiteNonNegative("--weight-decay", weightDecay);
        if (minLr != null) Checks.finiteNonNegative("--min-lr", minLr);
        if (initialLr != null) Checks.finiteNonNegative("--initial-lr", initialLr);
        Checks.finiteNonNegative("--clip", clip);
        if (samplePrompt != null && samplePrompt.isEmpty()) throw new JgptException("--sample-prompt must not be empty");
        if (!(valFraction >= 0 && valFraction < 1)) throw new JgptException("--val-fraction must be in [0, 1), got " + valFraction);
        if (model.dropout != null && !(model.dropout >= 0 && model.dropout < 1)) {
            throw new JgptException("--dropout must be in [0, 1), got " + model.dropout);
        }
    }
}
