package io.jgpt.train;

import io.jgpt.JgptException;
import io.jgpt.checkpoint.TrainerState;
import io.jgpt.checkpoint.TrainingCheckpoint;
import io.jgpt.data.BatchLoader;
import io.jgpt.data.LoaderState;
import io.jgpt.model.GPTModel;
import io.jgpt.profile.Profiler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop of chapter 5 and appendix D: steps over shuffled batches with the learning-rate
 * schedule, periodic train/validation evaluation, a sample after each epoch, metrics, a loss plot and
 * atomic checkpoints (periodic, final, and on Ctrl-C). Steps whose loss or gradient norm is not finite are
 * skipped; too many in a row stop the run without overwriting the last good checkpoint.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /**
     * @param evalEvery  evaluate every this many steps (0: only at the end)
     * @param saveEvery  checkpoint every this many steps (0: only at the end)
     * @param logEvery   read the step's loss, norm and skip flag back from the device (metrics, warnings, the
     *                   --max-bad-steps rule) every this many steps, and at evaluations, saves and the end
     */
    public record Settings(int batch, int accum, long steps, LrSchedule lr, double clip, long seed, int evalEvery,
                           int evalBatches, int saveEvery, int keep, int maxBadSteps, int logEvery,
                           boolean progressBar) {}

    /** How a run ended: final losses (NaN where not evaluated), steps done, where the last checkpoint is. */
    public record Outcome(double firstTrainLoss, double trainLoss, double valLoss, long steps, Path checkpoint) {}

    private final GPTModel model;
    private final AdamW optimizer;
    private final BatchLoader train;
    private final BatchLoader trainEval;
    private final BatchLoader valEval;
    private final Path out;
    private final Settings s;
    private final Function<GPTModel, String> sampler;
    private final LossPlot plot = new LossPlot();
    private volatile boolean stopRequested;
    private Profiler profiler = Profiler.OFF;
    private boolean graphs = true;
    private DataParallel parallel;

    /**
     * @param valEval  validation loader, or null when there is no validation part
     * @param sampler  text generated from the model after each epoch, or null for none
     */
    public Trainer(GPTModel model, AdamW optimizer, BatchLoader train, BatchLoader trainEval, BatchLoader valEval,
                   Path out, Settings settings, Function<GPTModel, String> sampler) {
        this.model = model;
        this.optimizer = optimizer;
        this.train = train;
        this.trainEval = trainEval;
        this.valEval = valEval;
        this.out = out;
        this.s = settings;
        this.sampler = sampler;
    }

    /** Profiles the training steps (not evaluation or saving); spans are resolved after every step. */
    public void profile(Profiler p) {
        profiler = p;
    }

    /** Whether steps may be recorded and replayed as graphs where the backend has them (see {@link TrainingStep}). */
    public void graphs(boolean enabled) {
        graphs = enabled;
    }

    /**
     * Shares every step with the other ranks of {@code dp}: this rank trains on its own micro-batches of each
     * global batch; only rank 0 evaluates and writes metrics, the plot and checkpoints (the weights are the
     * same on every rank).
     */
    public void distribute(DataParallel dp) {
        parallel = dp;
    }

    /** Asks the loop to save a checkpoint and stop after the current step (Ctrl-C). */
    public void requestStop() {
        stopRequested = true;
    }

    public Outcome run(TrainerState resumeFrom) {
        int ranks = parallel == null ? 1 : parallel.size();
        int rank = parallel == null ? 0 : parallel.rank();
        boolean lead = rank == 0;
        long first = 0;
        long tokensSeen = 0;
        if (resumeFrom != null) {
            first = resumeFrom.step();
            tokensSeen = resumeFrom.tokensSeen();
            train.restore(new LoaderState(resumeFrom.epoch(), resumeFrom.position()));
        }
        double firstLoss = Double.NaN;
        double lastTrain = Double.NaN;
        double lastVal = Double.NaN;
        int bad = 0;
        double ema = Double.NaN;
        Path checkpoint = null;
        long started = System.nanoTime();
        long tokensAtStart = tokensSeen;
        try (TrainingStep step = new TrainingStep(model, optimizer, s.clip(), graphs && profiler == Profiler.OFF, parallel);
             MetricsLog metrics = lead ? new MetricsLog(out, resumeFrom != null) : null; ProgressBar bar = progressBar(first)) {
            if (resumeFrom == null && lead) {
                firstLoss = Evaluation.run(model, trainEval, s.evalBatches()).loss();
                double firstVal = valEval == null ? Double.NaN : Evaluation.run(model, valEval, s.evalBatches()).loss();
                plot.add(0, firstLoss, firstVal);
                metrics.write(record("eval", 0, 0, evalFields(firstLoss, firstVal)));
                LOG.info("before training: train loss {}, val loss {} (ln(vocab) = {})", fmt(firstLoss), fmt(firstVal),
                        fmt(Math.log(model.config().vocabSize())));
            }
            long stepNo = first;
            for (; stepNo < s.steps() && !stopNow(); stepNo++) {
                int epochBefore = train.state().epoch();
                // The global batch is ranks x accum micro-batches in loader order; this rank's are its block of accum.
                List<Batch> micro = new ArrayList<>(s.accum());
                long stepTokens = 0;
                for (int g = 0; g < ranks * s.accum(); g++) {
                    Batch b = train.next();
                    stepTokens += b.tokens();
                    if (g / s.accum() == rank) micro.add(b);
                }
                float lr = s.lr().at(stepNo);
                model.ops().setProfiler(profiler);
                step.run(micro, lr, stepNo, s.seed());
                profiler.flush();
                model.ops().setProfiler(Profiler.OFF);
                tokensSeen += stepTokens;
                boolean last = stepNo + 1 == s.steps();
                boolean evalNow = last || (s.evalEvery() > 0 && (stepNo + 1) % s.evalEvery() == 0);
                boolean saveNow = s.saveEvery() > 0 && (stepNo + 1) % s.saveEvery() == 0 && !last;
                if (evalNow || saveNow || stopRequested || (stepNo + 1) % s.logEvery() == 0) {
                    // The one read-back of the step: the device decided on its own whether to skip it.
                    TrainingStep.Result r = step.result();
                    bad = r.badInARow();
                    if (r.skipped()) {
                        LOG.warn("step {}: loss {} / gradient norm {} is not finite; skipped the update ({} in a row)",
                                stepNo, r.loss(), r.gradNorm(), bad);
                        if (bad >= s.maxBadSteps()) {
                            throw new JgptException("training stopped at step " + stepNo + ": " + bad
                                    + " consecutive steps had a non-finite loss or gradient norm (--max-bad-steps "
                                    + s.maxBadSteps() + "); the last good checkpoint is left as it was");
                        }
                    } else {
                        if (stepNo - first > 10 && r.loss() > 2 * ema) {
                            LOG.warn("step {}: loss spike {} (recent average {})", stepNo, fmt(r.loss()), fmt(ema));
                        }
                        ema = Double.isNaN(ema) ? r.loss() : 0.9 * ema + 0.1 * r.loss();
                    }
                    double seconds = (System.nanoTime() - started) / 1e9;
                    double tokPerS = (tokensSeen - tokensAtStart) / Math.max(seconds, 1e-9);
                    if (lead) metrics.write(record("train", stepNo + 1, tokensSeen, Map.of("lr", lr, "loss", r.loss(),
                            "grad_norm", r.gradNorm(), "skipped", r.skipped(), "tokens_per_s", tokPerS, "world_size", ranks)));
                    if (bar != null) {
                        bar.stepTo(stepNo + 1);
                        bar.setExtraMessage(String.format(" loss %.3f  %,.0f tok/s", r.loss(), tokPerS));
                    }
                }
                if (evalNow && lead) {
                    lastTrain = Evaluation.run(model, trainEval, s.evalBatches()).loss();
                    lastVal = valEval == null ? Double.NaN : Evaluation.run(model, valEval, s.evalBatches()).loss();
                    plot.add(tokensSeen, lastTrain, lastVal);
                    LOG.info("step {} (epoch {}): train loss {}, val loss {}, val perplexity {}", stepNo + 1,
                            epochBefore + 1, fmt(lastTrain), fmt(lastVal), fmt(Math.exp(lastVal)));
                    metrics.write(record("eval", stepNo + 1, tokensSeen, evalFields(lastTrain, lastVal)));
                }
                if (sampler != null && (train.state().epoch() != epochBefore || last)) {
                    LOG.info("sample after epoch {}: {}", epochBefore + 1, sampler.apply(model).replace('\n', ' '));
                }
                if (saveNow && bad == 0) {
                    checkpoint = save(stepNo + 1, tokensSeen);
                }
            }
            checkpoint = save(stepNo, tokensSeen);
            if (stopRequested) LOG.info("stopped at step {}; checkpoint saved to {}", stepNo, checkpoint);
            return new Outcome(firstLoss, lastTrain, lastVal, stepNo, checkpoint);
        }
    }

    /** Whether to stop before the next step: on every rank at once when any rank was asked to. */
    private boolean stopNow() {
        return parallel == null ? stopRequested : parallel.anyRank(stopRequested);
    }

    /** Writes a checkpoint (rank 0 only: every rank holds the same weights and optimizer state); its path or null. */
    private Path save(long nextStep, long tokensSeen) {
        if (parallel != null && parallel.rank() != 0) return null;
        // The last line of defence: whatever happened, non-finite weights never replace a good checkpoint.
        double norm = model.ops().sumOfSquares(optimizer.arena().values());
        if (!Double.isFinite(norm)) {
            throw new JgptException("not saving step " + nextStep + ": the weights contain NaN or infinity;"
                    + " the last good checkpoint is left as it was");
        }
        LoaderState ls = train.state();
        TrainerState state = new TrainerState(nextStep, ls.epoch(), ls.position(), s.seed(), optimizer.stepCount(), tokensSeen);
        Path dir = TrainingCheckpoint.save(out, model, optimizer, state, s.keep());
        plot.write(out);
        return dir;
    }

    private ProgressBar progressBar(long first) {
        // Only on a terminal: redirected to a file, a redrawn bar is just noise (metrics.jsonl has every step).
        if (!s.progressBar() || System.console() == null || !System.console().isTerminal()) return null;
        return new ProgressBarBuilder().setTaskName("train").setInitialMax(s.steps()).startsFrom(first, java.time.Duration.ZERO)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate().build();
    }

    private static Map<String, Object> evalFields(double trainLoss, double valLoss) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("train_loss", trainLoss);
        m.put("train_perplexity", Math.exp(trainLoss));
        if (Double.isFinite(valLoss)) {
            m.put("val_loss", valLoss);
            m.put("val_perplexity", Math.exp(valLoss));
        }
        return m;
    }

    private static Map<String, Object> record(String type, long step, long tokens, Map<String, ?> fields) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        m.put("step", step);
        m.put("tokens_seen", tokens);
        m.putAll(fields);
        return m;
    }

    private static String fmt(double v) {
        return String.format("%.3f", v);
    }
}
