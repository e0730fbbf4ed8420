package io.jgpt.train;

import io.jgpt.JgptException;
import io.jgpt.checkpoint.TrainerState;
import io.jgpt.checkpoint.TrainingCheckpoint;
import io.jgpt.data.BatchLoader;
import io.jgpt.data.LoaderState;
import io.jgpt.data.SlidingWindowDataset;
import io.jgpt.model.GPTModel;
import io.jgpt.profile.Profiler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop of chapter 5 and appendix D: steps over shuffled batches with the learning-rate
 * schedule, periodic train/validation evaluation, a sample after each epoch, metrics, a loss plot and
 * atomic checkpoints (periodic, final, and on Ctrl-C). Steps whose loss or gradient norm is not finite are
 * skipped; too many in a row stop the run without overwriting the last good checkpoint.
 *
 * <p>Step numbers in logs, metrics and checkpoint names all count steps done: "step 1" is the first update.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /**
     * @param evalEvery  evaluate every this many steps (0: only at the end)
     * @param saveEvery  checkpoint every this many steps (0: only at the end)
     * @param logEvery   read the step's loss, norm and skip flag back from the device (metrics, warnings, the
     *                   --max-bad-steps rule) every this many steps, and at evaluations, samples, saves and the end
     */
    public record Settings(int batch, int accum, long steps, LrSchedule lr, double clip, long seed, int evalEvery,
                           int evalBatches, int saveEvery, int keep, int maxBadSteps, int logEvery,
                           boolean progressBar) {}

    /**
     * How a run ended: final losses (NaN where not evaluated), steps done, where the last checkpoint is, and
     * whether Ctrl-C (or {@link #requestStop}) ended it early.
     */
    public record Outcome(double firstTrainLoss, double trainLoss, double valLoss, long steps, Path checkpoint, boolean stopped) {}

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
    private Path lastCheckpoint;

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

    /** How {@code loader} cuts the data into steps of {@code microBatches} (over all ranks): what a resumed run must repeat. */
    public static TrainerState.Layout layout(BatchLoader loader, int microBatches) {
        SlidingWindowDataset d = loader.dataset();
        return new TrainerState.Layout(loader.batchSize(), microBatches, d.contextLength(), d.stride(), loader.shuffled(), d.tokens().length());
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

    /** Asks the loop to stop after the current step (or evaluation batch) and save a checkpoint (Ctrl-C). */
    public void requestStop() {
        stopRequested = true;
    }

    private record Losses(double train, double val) {}

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
        Losses last = new Losses(Double.NaN, Double.NaN);
        int bad = 0;
        double ema = Double.NaN;
        long savedAt = -1;
        try (TrainingStep step = new TrainingStep(model, optimizer, s.clip(), graphs && profiler == Profiler.OFF, parallel);
             MetricsLog metrics = !lead ? null : resumeFrom == null ? MetricsLog.start(out) : MetricsLog.resume(out, first);
             Progress progress = Progress.start("train", first, s.steps(), s.progressBar())) {
            if (resumeFrom != null && lead) plot.replay(out.resolve(MetricsLog.FILE));
            if (resumeFrom == null && lead) {
                Losses before = evaluate();
                if (before != null) {
                    firstLoss = before.train();
                    plot.add(0, before.train(), before.val());
                    metrics.write(record("eval", 0, 0, evalFields(before)));
                    LOG.info("before training: {}; a uniform guess would be ln(vocab) = {}", describe(before),
                            fmt(Math.log(model.config().vocabSize())));
                }
            }
            long done = first;
            long windowStart = System.nanoTime(); // training since the last read-back: what tokens_per_s measures
            long windowTokens = 0;
            while (done < s.steps() && !stopNow(done - first)) {
                int epochBefore = train.state().epoch();
                // The global batch is ranks x accum micro-batches in loader order; this rank's are its block of accum.
                List<Batch> micro = new ArrayList<>(s.accum());
                long stepTokens = 0;
                for (int g = 0; g < ranks * s.accum(); g++) {
                    Batch b = train.next();
                    stepTokens += b.tokens();
                    if (g / s.accum() == rank) micro.add(b);
                }
                float lr = s.lr().at(done);
                model.ops().setProfiler(profiler);
                step.run(micro, lr, done, s.seed());
                if (parallel != null && profiler != Profiler.OFF) parallel.settle(); // flushing waits for the device
                profiler.flush();
                model.ops().setProfiler(Profiler.OFF);
                windowTokens += stepTokens;
                tokensSeen += stepTokens;
                done++;
                boolean end = done == s.steps();
                boolean evalNow = end || (s.evalEvery() > 0 && done % s.evalEvery() == 0);
                boolean saveNow = s.saveEvery() > 0 && done % s.saveEvery() == 0 && !end;
                boolean sampleNow = sampler != null && (train.state().epoch() != epochBefore || end);
                if (evalNow || saveNow || sampleNow || stopRequested || done % s.logEvery() == 0) {
                    // The one read-back of the step: the device decided on its own whether to skip it.
                    TrainingStep.Result r = step.result();
                    bad = r.badInARow();
                    if (r.skipped()) {
                        LOG.warn("step {}: loss {} / gradient norm {} is not finite; skipped the update ({} in a row)",
                                done, r.loss(), r.gradNorm(), bad);
                    } else {
                        if (done - first > 10 && r.loss() > 2 * ema) {
                            LOG.warn("step {}: loss spike {} (recent average {})", done, fmt(r.loss()), fmt(ema));
                        }
                        ema = Double.isNaN(ema) ? r.loss() : 0.9 * ema + 0.1 * r.loss();
                    }
                    // Throughput of the steps since the last read-back only: evaluation, sampling and saving
                    // happen right after a read-back and are not in any window.
                    long now = System.nanoTime();
                    double tokPerS = windowTokens / Math.max((now - windowStart) / 1e9, 1e-9);
                    windowTokens = 0;
                    windowStart = now;
                    Map<String, Object> fields = new LinkedHashMap<>();
                    fields.put("lr", lr);
                    fields.put("loss", r.loss());
                    fields.put("grad_norm", r.gradNorm());
                    fields.put("skipped", r.skipped());
                    fields.put("tokens_per_s", tokPerS);
                    fields.put("world_size", ranks);
                    if (lead) metrics.write(record("train", done, tokensSeen, fields));
                    plot.addStep(tokensSeen, r.loss());
                    progress.update(done, String.format("loss %.3f, %,.0f tokens/s", r.loss(), tokPerS));
                    if (bad >= s.maxBadSteps()) {
                        throw new JgptException("training stopped at step " + done + ": " + bad
                                + " consecutive steps had a non-finite loss or gradient norm (--max-bad-steps "
                                + s.maxBadSteps() + "); " + (lastCheckpoint == null ? "no checkpoint was written"
                                : "the last good checkpoint, " + lastCheckpoint + ", is left as it was"));
                    }
                }
                if (end) {
                    // The final checkpoint first: nothing after it (evaluation, a sample) can lose the run.
                    save(done, tokensSeen);
                    savedAt = done;
                }
                if (evalNow && lead) {
                    Losses now = evaluate();
                    if (now != null) {
                        last = now;
                        plot.add(tokensSeen, now.train(), now.val());
                        LOG.info("step {} (epoch {}): {}", done, epochBefore + 1, describe(now));
                        metrics.write(record("eval", done, tokensSeen, evalFields(now)));
                        plot.write(out);
                    }
                }
                if (sampleNow && !stopRequested) {
                    LOG.info("sample after epoch {}: {}", epochBefore + 1, sampler.apply(model).replace('\n', ' '));
                }
                if (saveNow && bad == 0) {
                    save(done, tokensSeen);
                    savedAt = done;
                }
                if (evalNow || saveNow || sampleNow) windowStart = System.nanoTime();
            }
            if (savedAt != done && done > first) save(done, tokensSeen);
            return new Outcome(firstLoss, last.train(), last.val(), done, lastCheckpoint, done < s.steps());
        }
    }

    /**
     * Whether to stop before the next step: on every rank at once when any rank was asked to. Ranks agree
     * every --log-every steps (asking is a wait for the device on GPU ranks), counting from this run's start.
     */
    private boolean stopNow(long stepsThisRun) {
        if (parallel == null) return stopRequested;
        return stepsThisRun % s.logEvery() == 0 && parallel.anyRank(stopRequested);
    }

    /** Train and validation loss; null when a stop request cut the evaluation short. */
    private Losses evaluate() {
        Evaluation.Watch watch = (d, n) -> !stopRequested;
        Evaluation.Result t = Evaluation.run(model, trainEval, s.evalBatches(), watch);
        if (t == null) return null;
        if (valEval == null) return new Losses(t.loss(), Double.NaN);
        Evaluation.Result v = Evaluation.run(model, valEval, s.evalBatches(), watch);
        return v == null ? null : new Losses(t.loss(), v.loss());
    }

    /** Writes a checkpoint (rank 0 only: every rank holds the same weights and optimizer state). */
    private void save(long step, long tokensSeen) {
        AdamW.Moments moments = parallel == null ? optimizer.downloadMoments() : parallel.gatherMoments(optimizer);
        if (parallel != null && parallel.rank() != 0) return;
        // The last line of defence: whatever happened, non-finite weights never replace a good checkpoint.
        double norm = model.ops().sumOfSquares(optimizer.arena().values());
        if (!Double.isFinite(norm)) {
            throw new JgptException("not saving step " + step + ": the weights contain NaN or infinity; "
                    + (lastCheckpoint == null ? "no checkpoint was written" : "the last good checkpoint, " + lastCheckpoint + ", is left as it was"));
        }
        LoaderState ls = train.state();
        TrainerState state = new TrainerState(step, ls.epoch(), ls.position(), s.seed(), optimizer.stepCount(), tokensSeen,
                layout(train, s.accum() * (parallel == null ? 1 : parallel.size())));
        lastCheckpoint = TrainingCheckpoint.save(out, model, moments, state, s.keep());
        plot.write(out);
    }

    /** "train loss 3.210, val loss 3.456 (perplexity 31.7)", without a validation part where there is none. */
    private static String describe(Losses l) {
        String train = "train loss " + fmt(l.train());
        return Double.isFinite(l.val()) ? train + ", val loss " + fmt(l.val()) + " (perplexity " + String.format("%.1f", Math.exp(l.val())) + ")" : train;
    }

    private static Map<String, Object> evalFields(Losses l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("train_loss", l.train());
        m.put("train_perplexity", Math.exp(l.train()));
        m.put("val_loss", l.val());
        m.put("val_perplexity", Math.exp(l.val()));
        return m; // MetricsLog leaves out the val fields when there is no validation part (NaN)
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
