package io.jgpt.cli;

import io.jgpt.Backends;
import io.jgpt.JgptException;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.checkpoint.TrainerState;
import io.jgpt.checkpoint.TrainingCheckpoint;
import io.jgpt.cuda.CudaDevice;
import io.jgpt.data.BatchLoader;
import io.jgpt.data.Corpus;
import io.jgpt.data.SlidingWindowDataset;
import io.jgpt.data.TokenSource;
import io.jgpt.data.TrainValSplit;
import io.jgpt.dist.World;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.profile.Profiler;
import io.jgpt.train.AdamW;
import io.jgpt.train.DataParallel;
import io.jgpt.train.LrSchedule;
import io.jgpt.train.Trainer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Pretrains (or continues training) a GPT on text files or token shards: chapter 5 and appendix D. */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train a GPT on text or token shards, with evaluation, samples and checkpoints.")
public final class TrainCommand implements Callable<Integer> {

    @Option(names = "--data", required = true, arity = "1..*", description = "UTF-8 text files, or llm.c token shards (.bin).")
    List<Path> data;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    DropoutOption dropout = new DropoutOption();

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

    @Option(names = "--eval-batches", defaultValue = "5", description = "Batches of each part evaluated (0: all); default ${DEFAULT-VALUE}.")
    int evalBatches;

    @Option(names = "--save-every", defaultValue = "0", description = "Checkpoint every N steps (0: at the end only).")
    int saveEvery;

    @Option(names = "--keep", defaultValue = "3", description = "Checkpoints kept; default ${DEFAULT-VALUE}.")
    int keep;

    @Option(names = "--max-bad-steps", defaultValue = "5", description = "Stop after N consecutive non-finite steps; default ${DEFAULT-VALUE}.")
    int maxBadSteps;

    @Option(names = "--log-every", defaultValue = "1", description = "Read loss, gradient norm and the skip flag back from the device every N steps (metrics, warnings, --max-bad-steps); default ${DEFAULT-VALUE}.")
    int logEvery;

    @Option(names = "--sample-prompt", description = "Text to continue (50 greedy tokens) after each epoch and at the end.")
    String samplePrompt;

    @Option(names = "--out", required = true, description = "Run directory: checkpoints/, metrics.jsonl, loss.png. Must be new or empty, or the run --resume continues.")
    Path out;

    @Option(names = "--overwrite", description = "Start over in a --out that holds an earlier run: its checkpoints, metrics.jsonl, loss.png and trace.json are deleted first.")
    boolean overwrite;

    @Option(names = "--resume", description = "Continue from a checkpoint or run directory: the model, optimizer, data position, batch, context, stride, accumulation, shuffling and seed come from it.")
    Path resume;

    @Option(names = "--no-progress", description = "No progress bar on a terminal (a line every 10 s instead).")
    boolean noProgress;

    @Option(names = "--zero", defaultValue = "0", description = "1: ZeRO stage 1, AdamW state and update sharded across ranks; default ${DEFAULT-VALUE}.")
    int zero;

    @Option(names = "--bucket-mb", defaultValue = "25", description = "Gradient bucket size for reduction across ranks, MB; default ${DEFAULT-VALUE}.")
    int bucketMb;

    @Option(names = "--nproc", description = "Start this many ranks on this machine (GPUs: one per cuda:N, over NCCL; CPU: processes under mpirun) and wait for them.")
    Integer nproc;

    @Option(names = "--comm-timeout", defaultValue = "600", description = "Seconds a rank waits for the others (NCCL collectives, the NCCL id) before it gives up and ends the job; default ${DEFAULT-VALUE}.")
    int commTimeout;

    @Option(names = "--profile", description = "Per-kernel timing of the training steps, printed at the end, and OUT/trace.json (runs the steps eagerly).")
    boolean profile;

    @Option(names = "--no-graph", description = "On CUDA, issue every step's kernels from the host instead of replaying a captured CUDA graph.")
    boolean noGraph;

    @Spec
    CommandSpec spec;

    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    @Override
    public Integer call() {
        validate();
        device.check();
        device.cudaOnly("--no-graph", noGraph);
        World world = World.fromEnvironment();
        if (nproc != null && nproc > 1) return launch(world);
        boolean lead = world.rank() == 0;
        // Progress and logs on rank 0 only; the other ranks report errors.
        if (!lead) ConsoleLog.errorsOnly();
        Path resumed = resume == null ? null : ModelSource.resolveCheckpoint(resume);
        TrainerState saved = resumed == null ? null : TrainingCheckpoint.readState(resumed);
        List<String> taken = saved == null ? List.of() : adopt(saved, world.size());
        // Only rank 0 writes the run directory, so only it judges (and, with --overwrite, clears) it.
        if (lead) RunDirectory.checkOutput(out, resumed, overwrite, true);
        device.device = Ranks.device(world, device.device);
        try (Ops ops = device.open()) {
            Ranks ranks = Ranks.join(world, ops, Duration.ofSeconds(commTimeout));
            try {
                return train(ops, ranks, resumed, saved, taken);
            } catch (RuntimeException e) {
                if (ranks != null) ranks.abortAll(e);
                throw e;
            } finally {
                if (ranks != null) ranks.close();
            }
        }
    }

    /** --nproc: this process only starts the ranks (each runs this command without --nproc) and waits for them. */
    private int launch(World world) {
        if (world.size() > 1) {
            throw new JgptException("--nproc " + nproc + " starts the ranks itself, but this process is already rank " + world.rank()
                    + " of " + world.size() + " of a launcher's job (mpirun, srun or torchrun): drop --nproc");
        }
        List<String> args = new ArrayList<>(List.of("train"));
        args.addAll(RankLauncher.withoutNproc(ownArgs()));
        boolean cpu = Backends.check(device.device) < 0;
        if (!cpu && !device.device.equals("cuda")) {
            throw new JgptException("--nproc " + nproc + " puts rank r on cuda:r; give --device cuda, not " + device.device);
        }
        if (!cpu && CudaDevice.count() < nproc) {
            throw new JgptException("--nproc " + nproc + " puts one rank on each GPU, but this machine has " + CudaDevice.count());
        }
        if (cpu && device.threads == null) {
            // The ranks share this machine's cores.
            args.addAll(List.of("--threads", Integer.toString(Math.max(1, Runtime.getRuntime().availableProcessors() / nproc))));
        }
        LOG.info("starting {} ranks {}", nproc, cpu ? "under mpirun (CPU ranks talk through MPI)" : "on cuda:0 to cuda:" + (nproc - 1) + " (NCCL)");
        return cpu ? RankLauncher.cpu(nproc, args) : RankLauncher.gpu(nproc, args);
    }

    private int train(Ops ops, Ranks ranks, Path resumed, TrainerState saved, List<String> taken) {
        boolean lead = ranks == null || ranks.rank() == 0;
        GPTModel gpt = ModelSource.open(resumed != null ? resumed.toString() : model.preset, ops, seed,
                model.flags(dropout.rate(), true));
        GPTConfig cfg = gpt.config();
        if (resumed != null && given("--model")) checkSameModel(cfg, resumed);
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
        if (saved != null && saved.layout() != null && saved.layout().trainTokens() != trainSet.tokens().length()) {
            throw new JgptException("--data gives " + String.format("%,d", trainSet.tokens().length()) + " training tokens; "
                    + resumed + " was trained on " + String.format("%,d", saved.layout().trainTokens())
                    + ": resuming needs the same --data and --val-fraction");
        }
        long steps = length.steps != null ? length.steps : (long) length.epochs * trainLoader.batchesPerEpoch() / accum;
        if (steps < 1) throw new JgptException("one epoch has " + trainLoader.batchesPerEpoch() + " batches, fewer than --accum " + accum);
        if (saved != null && saved.step() >= steps) {
            System.out.printf("nothing to do: %s is at step %d and the run has %d steps; give a larger --steps or --epochs to train on%n",
                    resumed, saved.step(), steps);
            return 0;
        }
        Function<GPTModel, String> sampler = samplePrompt == null ? null : Samples.greedy(samplePrompt, 50, cfg.vocabSize());
        if (!lead) sampler = null;
        warnAboutFlagsWithoutEffect(steps);
        AdamW.Settings adamSettings = new AdamW.Settings(0.9f, 0.999f, 1e-8f, weightDecay, decayMatricesOnly);
        // ZeRO-1: no rank holds the whole moments, only its shard (DataParallel.shardOptimizer).
        boolean sharded = zero == 1 && ranks != null;
        AdamW adamw = sharded ? AdamW.withoutMoments(gpt.parameterArena(), adamSettings) : new AdamW(gpt.parameterArena(), adamSettings);
        TrainerState state = resumed == null ? null : TrainingCheckpoint.readState(resumed);
        AdamW.Moments restored = resumed == null ? null : TrainingCheckpoint.readMoments(resumed, gpt);
        if (state != null) adamw.setStepCount(state.optimizerStep());
        if (restored != null && !sharded) adamw.uploadMoments(restored);
        float floor = minLr != null ? minLr : lr;
        float start = initialLr != null ? initialLr : (warmup > 0 ? lr / 100 : lr);
        Trainer.Settings settings = new Trainer.Settings(batch, accum, steps, new LrSchedule(lr, start, floor, warmup, steps),
                clip, seed, evalEvery, evalBatches, saveEvery, keep, maxBadSteps, logEvery, !noProgress && lead);
        Trainer trainer = new Trainer(gpt, adamw, trainLoader, trainEval, valEval, out, settings, sampler);
        DataParallel parallel = ranks == null ? null : ranks.parallel(gpt.parameterArena(), (long) bucketMb << 20);
        if (parallel != null) {
            parallel.broadcastWeights();
            if (sharded) parallel.shardOptimizer(adamw, restored);
            restored = null; // the whole moments were only needed to take this rank's shard
            trainer.distribute(parallel);
        }
        Profiler profiler = profile ? new Profiler(ops.clock()) : Profiler.OFF;
        trainer.profile(profiler);
        trainer.graphs(!noGraph && !profile);
        if (parallel != null) parallel.profile(profiler);
        LOG.info("training {} on {}: {} parameters (dropout {}); {} train / {} validation tokens; {} batches of {} x {} per epoch; {}",
                resumed != null ? resumed : model.preset, ops.name(), String.format("%,d", cfg.parameterCount()), cfg.dropRate(),
                String.format("%,d", trainSet.tokens().length()), valEval == null ? 0 : String.format("%,d", split.val().length()),
                trainLoader.batchesPerEpoch(), batch, time,
                state == null ? "steps 1 to " + steps : "resuming at step " + state.step() + " of " + steps);
        if (!taken.isEmpty()) LOG.info("taken from the checkpoint: {}", String.join(", ", taken));
        if (overwrite && lead) RunDirectory.clear(out);
        Trainer.Outcome outcome;
        try (CtrlC ctrlC = new CtrlC("finishing this step, then saving a checkpoint", trainer::requestStop)) {
            outcome = trainer.run(state);
        } finally {
            if (parallel != null) parallel.close();
        }
        if (!lead) return outcome.stopped() ? CtrlC.EXIT_CODE : 0;
        if (profile) ProfileOutput.print(profiler, ops, device.precision(), out.resolve(RunDirectory.TRACE));
        return report(outcome);
    }

    /** The last words: losses where they were measured, the checkpoint, and after Ctrl-C how to continue. */
    private int report(Trainer.Outcome o) {
        StringBuilder losses = new StringBuilder();
        if (Double.isFinite(o.trainLoss())) losses.append("; train loss ").append(String.format("%.3f", o.trainLoss()));
        if (Double.isFinite(o.valLoss())) losses.append(", val loss ").append(String.format("%.3f", o.valLoss()));
        if (!o.stopped()) {
            System.out.printf("trained %d steps%s%ncheckpoint: %s%n", o.steps(), losses, o.checkpoint());
            return 0;
        }
        if (o.checkpoint() == null) {
            System.out.println("interrupted before the first step; nothing was saved");
        } else {
            List<String> again = new ArrayList<>(List.of("./jgpt"));
            again.addAll(resumeArgs(ownArgs(), o.checkpoint()));
            System.out.printf("interrupted at step %d; saved %s%nresume with: %s%n", o.steps(), o.checkpoint(), Shell.command(again));
        }
        return CtrlC.EXIT_CODE;
    }

    /** The arguments after "train" (picocli's original arguments are the whole command line's). */
    private List<String> ownArgs() {
        List<String> all = spec.commandLine().getParseResult().originalArgs();
        return all.subList(all.indexOf(spec.name()) + 1, all.size());
    }

    /** This command line with --resume set to {@code checkpoint} and without --overwrite. */
    static List<String> resumeArgs(List<String> original, Path checkpoint) {
        List<String> args = new ArrayList<>(List.of("train"));
        for (int i = 0; i < original.size(); i++) {
            String a = original.get(i);
            if (a.equals("--overwrite") || a.startsWith("--resume=")) continue;
            if (a.equals("--resume")) {
                i++;
                continue;
            }
            args.add(a);
        }
        args.addAll(List.of("--resume", checkpoint.toString()));
        return args;
    }

    private boolean given(String flag) {
        return spec.commandLine().getParseResult().hasMatchedOption(flag);
    }

    /**
     * A resumed run continues the data exactly as it was cut: what the checkpoint recorded is taken, and a
     * flag that contradicts it is refused rather than silently mixed in. Returns what was taken.
     */
    private List<String> adopt(TrainerState saved, int ranks) {
        List<String> taken = new ArrayList<>();
        if (given("--model")) taken.add("the model (--model " + model.preset + " is only checked against it)");
        seed = take("--seed", seed, saved.seed(), taken);
        TrainerState.Layout l = saved.layout();
        if (l == null) return taken; // written before jgpt recorded the layout: only the seed is known
        batch = (int) take("--batch", batch, l.batch(), taken);
        // The checkpoint counts micro-batches per step over all ranks; --accum counts them per rank.
        if (!given("--accum")) {
            if (l.microBatches() % ranks != 0) {
                throw new JgptException(resume + " was trained with " + l.microBatches() + " micro-batches per step, which "
                        + ranks + " ranks cannot share evenly; resume on a number of ranks that divides it");
            }
            accum = l.microBatches() / ranks;
            taken.add("accum " + accum + (ranks > 1 ? " on each of " + ranks + " ranks" : ""));
        } else if ((long) accum * ranks != l.microBatches()) {
            throw new JgptException("--accum " + accum + (ranks > 1 ? " on " + ranks + " ranks" : "") + " contradicts " + resume
                    + ", which was trained with " + l.microBatches() + " micro-batches per step; a resumed run keeps it (drop --accum)");
        }
        model.context = (int) take("--context", model.context != null ? model.context : l.context(), l.context(), taken);
        stride = (int) take("--stride", stride != null ? stride : l.stride(), l.stride(), taken);
        if (given("--no-shuffle") && l.shuffle()) {
            throw new JgptException("--no-shuffle contradicts " + resume + ", which was trained with shuffling; drop --no-shuffle");
        }
        noShuffle = !l.shuffle();
        taken.add(l.shuffle() ? "shuffled" : "not shuffled");
        return taken;
    }

    /**
     * The command line that started a run, with --resume added, names the same preset: allowed, as long as the
     * preset (with its flags) is the model in the checkpoint. A file or directory named by --model is not read.
     */
    private void checkSameModel(GPTConfig inCheckpoint, Path checkpoint) {
        if (!ModelSource.isPreset(model.preset)) return;
        GPTConfig p = model.config().withContextLength(inCheckpoint.contextLength()).withDropRate(inCheckpoint.dropRate());
        if (!p.equals(inCheckpoint)) {
            throw new JgptException("--model " + model.preset + " (with the flags given) is not the model in " + checkpoint
                    + " (" + p + " against " + inCheckpoint + "); drop --model when resuming");
        }
    }

    private long take(String flag, long value, long saved, List<String> taken) {
        if (!given(flag)) {
            taken.add(flag.substring(2) + " " + saved);
            return saved;
        }
        if (value != saved) {
            throw new JgptException(flag + " " + value + " contradicts " + resume + ", which was trained with " + saved
                    + "; a resumed run keeps it (drop " + flag + ", or start a new run)");
        }
        return value;
    }

    /** One line each for flags that are valid but will not do what they seem to. */
    private void warnAboutFlagsWithoutEffect(long steps) {
        if (warmup >= steps) LOG.warn("--warmup {} is not shorter than the run ({} steps): the rate never reaches --lr {}", warmup, steps, lr);
        if (evalEvery > steps) LOG.warn("--eval-every {} exceeds the run's {} steps: evaluation happens only at the end", evalEvery, steps);
        if (saveEvery >= steps) LOG.warn("--save-every {} is not shorter than the run's {} steps: only the final checkpoint is saved", saveEvery, steps);
    }

    private void validate() {
        Checks.positive("--batch", batch);
        if (length.epochs != null) Checks.positive("--epochs", length.epochs);
        if (length.steps != null) Checks.positive("--steps", length.steps);
        if (model.context != null) Checks.positive("--context", model.context);
        Checks.positive("--accum", accum);
        Checks.positive("--bucket-mb", bucketMb);
        Checks.positive("--comm-timeout", commTimeout);
        if (nproc != null) Checks.positive("--nproc", nproc);
        if (zero != 0 && zero != 1) throw new JgptException("--zero must be 0 or 1 (ZeRO stage 1), got " + zero);
        Checks.positive("--keep", keep);
        Checks.positive("--max-bad-steps", maxBadSteps);
        Checks.positive("--log-every", logEvery);
        Checks.nonNegative("--warmup", warmup);
        Checks.nonNegative("--eval-every", evalEvery);
        Checks.nonNegative("--eval-batches", evalBatches);
        Checks.nonNegative("--save-every", saveEvery);
        if (stride != null) Checks.positive("--stride", stride);
        Checks.finiteNonNegative("--lr", lr);
        Checks.finiteNonNegative("--weight-decay", weightDecay);
        if (minLr != null) Checks.finiteNonNegative("--min-lr", minLr);
        if (initialLr != null) Checks.finiteNonNegative("--initial-lr", initialLr);
        if (minLr != null && minLr > lr) {
            throw new JgptException("--min-lr " + minLr + " is above --lr " + lr + ": the cosine decay would climb; give a floor at most the peak");
        }
        if (initialLr != null && warmup == 0) {
            throw new JgptException("--initial-lr has no effect without --warmup (it is where the warm-up starts)");
        }
        Checks.finiteNonNegative("--clip", clip);
        if (samplePrompt != null && samplePrompt.isEmpty()) throw new JgptException("--sample-prompt must not be empty");
        if (!(valFraction >= 0 && valFraction < 1)) throw new JgptException("--val-fraction must be in [0, 1), got " + valFraction);
        dropout.rate();
    }
}
