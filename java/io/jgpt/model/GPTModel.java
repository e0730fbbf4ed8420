package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * GPT-2 (chapter 4): token + position embeddings, dropout, a stack of pre-LN transformer blocks, a final
 * LayerNorm and a linear output head (its own weight, or the token embedding when tied). Parameter names
 * follow Hugging Face's GPT-2 ("wte.weight", "h.0.attn.c_attn.weight", ...), so checkpoints map one to one.
 *
 * <p>A training step is {@link #stage} then {@link #trainStaged} (or the book's {@link #forward}, then
 * {@link #lossAndBackward}); evaluation is {@link #evaluate}, or {@link #forward} then {@link #loss}. Token ids come in as host arrays and only losses come back out: everything else stays
 * on the backend.
 *
 * <p>Activations live in explicit records ({@link Activations} for training and evaluation, {@link Cached}
 * for inference through a KV cache) allocated together once per (batch, context) shape.
 */
public final class GPTModel extends Module {

    private final GPTConfig config;
    final Embedding wte;
    final Embedding wpe;
    final List<TransformerBlock> blocks = new ArrayList<>();
    final LayerNorm lnF;
    final Linear lmHead;
    private DropoutPlan plan = DropoutPlan.eval();
    private final PerShape<Activations> training = new PerShape<>();
    private final PerShape<Cached> cacheFill = new PerShape<>();
    private final PerShape<Cached> cacheLast = new PerShape<>();
    /**
     * Decoding steps' records by batch size, apart from a prefill's so that prefills between steps keep their
     * addresses, and one per size so that decodings of different sizes (a benchmark's batch 1 and batch N) do
     * not move each other's.
     */
    private final Map<Integer, PerShape<Cached>> cacheSteps = new HashMap<>();
    /** The record of the batch staged last. */
    private Activations act;
    /** Every parameter gradient is known to be zero (see {@link #markGradientsZero}). */
    private boolean gradientsZero;

    public GPTModel(GPTConfig config, Ops ops, long seed) {
        super(ops);
        this.config = config;
        wte = child("wte", new Embedding(ops, config.vocabSize(), config.embDim()));
        wpe = child("wpe", new Embedding(ops, config.contextLength(), config.embDim()));
        for (int l = 0; l < config.nLayers(); l++) blocks.add(child("h." + l, new TransformerBlock(ops, config)));
        lnF = child("ln_f", new LayerNorm(ops, config.embDim()));
        lmHead = config.tiedHead() ? null : child("lm_head", new Linear(ops, config.embDim(), config.vocabSize(), false));
        packParameters();
        initWeights(seed);
    }

    public GPTConfig config() {
        return config;
    }

    /**
     * Rows of logits that exist at a time: the classifier (Ops.classifier) runs the output head and the loss over
     * chunks of this many rows. At batch 64 x 1024 with GPT-2's 50,257 tokens a chunk is 0.82 GB in bf16 (1.6 GB
     * in fp32) instead of 6.6 GB (13 GB) for all rows; 8192 rows keep the head's GEMMs large (M = 8192) and its
     * fp32 weight gradient is read and written once per chunk, 8 times per such batch. Smaller batches are one chunk.
     */
    static final int CLASSIFIER_ROWS = 8192;

    /**
     * Everything a (batch, time) shape of training or evaluation keeps: the staged token ids and targets, the
     * embedding and its dropout, every block's record, the final LayerNorm's, the logits of up to
     * {@link #CLASSIFIER_ROWS} rows (the classifier's chunk, which the loss overwrites with their gradient), the
     * per-position losses (fp32), and the backward pass's buffers: the gradient of the final LayerNorm's output,
     * the residual stream's gradient (one buffer, which every block updates in place), and the work buffers every
     * block shares.
     */
    public record Activations(Tensor tokens, Tensor targets, Tensor embedded, Tensor x0,
                              List<TransformerBlock.Saved> blocks, LayerNorm.Saved lnF, Tensor logits, Tensor losses,
                              Tensor dFinalNormed, Tensor dResidual, TransformerBlock.Work work) {}

    /**
     * What inference through a KV cache needs for {@code n} new positions of each sequence: their ids and
     * positions, a zero position table (see {@link #blocksCached}), the token and position embeddings, every
     * block's record; and, for the last position only, the final LayerNorm's record and the logits (both null
     * in a record that only fills the cache).
     */
    public record Cached(Tensor tokens, Tensor positions, Tensor noPosition, Tensor x, Tensor posEmbedded,
                         List<TransformerBlock.Saved> blocks, LayerNorm.Saved lnF, Tensor logits) {}

    private Activations allocateTraining(ActivationArena.Fields f, int batch, int time) {
        DType a = ops.activationType();
        int c = config.embDim();
        Tensor tokens = f.take("tokens", DType.I32, batch, time);
        Tensor targets = f.take("targets", DType.I32, batch, time);
        Tensor embedded = f.take("embedded", a, batch, time, c);
        Tensor x = f.take("x0", a, batch, time, c);
        Tensor x0 = x;
        List<TransformerBlock.Saved> saved = new ArrayList<>();
        for (int l = 0; l < blocks.size(); l++) {
            saved.add(blocks.get(l).allocate(f, "h." + l, x, a));
            x = saved.getLast().x2();
        }
        LayerNorm.Saved lnFSaved = lnF.allocate(f, "ln_f", x, a);
        Tensor logits = f.take("logits", a, Math.min(batch * time, CLASSIFIER_ROWS), config.vocabSize());
        Tensor losses = f.take("losses", DType.F32, batch, time);
        return new Activations(tokens, targets, embedded, x0, saved, lnFSaved, logits, losses,
                f.take("dnormed", a, batch, time, c), f.take("dresidual", a, batch, time, c),
                TransformerBlock.Work.allocate(f, batch, time, c, a));
    }

    /** Decoding stores fp32 activations on every backend (the cached attention kernel is fp32) and reads fp32 weights. */
    private Cached allocateCached(ActivationArena.Fields f, int batch, int n, boolean head) {
        DType a = DType.F32;
        int c = config.embDim();
        Tensor tokens = f.take("cached.tokens", DType.I32, batch, n);
        Tensor positions = f.take("cached.positions", DType.I32, batch, n);
        Tensor noPosition = f.take("cached.no_position", a, n, c);
        Tensor x = f.take("cached.x", a, batch, n, c);
        Tensor posEmbedded = f.take("cached.wpe", a, batch, n, c);
        List<TransformerBlock.Saved> saved = new ArrayList<>();
        Tensor in = x;
        for (int l = 0; l < blocks.size(); l++) {
            saved.add(blocks.get(l).allocate(f, "h." + l, in, a));
            in = saved.getLast().x2();
        }
        LayerNorm.Saved lnFSaved = head ? lnF.allocate(f, "ln_f", in, a) : null;
        Tensor logits = head ? f.take("cached.logits", a, batch, n, config.vocabSize()) : null;
        return new Cached(tokens, positions, noPosition, x, posEmbedded, saved, lnFSaved, logits);
    }

    /**
     * How many times the training activations have been allocated: a recorded step (a CUDA graph) reads their
     * addresses, so it is valid only while this stays the same.
     */
    public long activationAllocations() {
        return training.allocations;
    }

    @Override
    protected void releaseActivations() {
        training.close();
        cacheFill.close();
        cacheLast.close();
        cacheSteps.values().forEach(PerShape::close); // kept, so that their allocation counts go on
        act = null;
    }

    /** The book's initialisation for its untied models, GPT-2's for tied ones (see {@link Init}). */
    private void initWeights(long seed) {
        Init init = new Init(seed, config.tiedHead() ? Init.Scheme.GPT2 : Init.Scheme.BOOK, config.nLayers());
        wte.init(init);
        wpe.init(init);
        blocks.forEach(b -> b.init(init));
        lnF.init();
        if (lmHead != null) lmHead.init(init, false);
        parameterArena().valuesChanged();
    }

    /** Number of dropout sites: the embedding, then three per block (attention weights, two residual branches). */
    public int dropoutSites() {
        return 1 + 3 * config.nLayers();
    }

    /**
     * Runs the model on a (batch, time) block of token ids and returns the logits (B,T,V), which stay valid
     * until the next call of {@link #loss} or {@link #lossAndBackward}. Only for up to {@link #CLASSIFIER_ROWS}
     * rows (batch * time), as the logits of more never exist at once; {@link #evaluate} takes any batch.
     */
    public Tensor forward(int[] ids, int batch, int time, DropoutPlan dropout) {
        if ((long) batch * time > CLASSIFIER_ROWS) {
            throw new IllegalArgumentException("forward returns the logits of at most " + CLASSIFIER_ROWS
                    + " positions, not " + batch + "x" + time + "; evaluate computes the loss of a larger batch");
        }
        stageTokens(ids, batch, time);
        ops.stageDropoutKeys(dropout.keys());
        forwardStaged(dropout);
        Tensor logits = ops.view(act.logits(), 0, batch, time, config.vocabSize());
        ops.linearForward(logits, act.lnF().out(), headWeight().readAs(logits.dtype()), null);
        return logits;
    }

    /**
     * The mean cross-entropy of a (batch, time) block of ids against targets (-100 = ignore) without dropout or
     * gradients, for any batch: the output head and the loss run chunk by chunk.
     */
    public float evaluate(int[] ids, int[] targets, int batch, int time) {
        int valid = stage(ids, targets, batch, time, DropoutPlan.eval());
        forwardStaged(DropoutPlan.eval());
        return meanOnHost(new Losses(lossesStaged(false, 0f), valid));
    }

    /** Checks a (batch, time) block of ids and queues it into the model's token buffer. */
    private void stageTokens(int[] ids, int batch, int time) {
        if (time > config.contextLength()) {
            throw new IllegalArgumentException("sequence length " + time + " exceeds the model's context length " + config.contextLength());
        }
        if (ids.length != batch * time) {
            throw new IllegalArgumentException("token batch has " + ids.length + " ids, expected " + batch + "x" + time);
        }
        checkIds(ids, "token");
        act = training.get(ops, batch, time, f -> allocateTraining(f, batch, time));
        parameterArena().refreshComputeCopy(); // queued before the batch's work, outside any recorded step
        ops.write(act.tokens(), ids);
    }

    /**
     * Checks a training batch's ids and targets (-100 = ignore) and queues both, with the dropout keys of
     * {@code dropout}, into the model's input buffers, so that {@link #trainStaged} with the same plan then only
     * queues kernels (what a CUDA graph can capture). Returns how many targets count.
     */
    public int stage(int[] ids, int[] targets, int batch, int time, DropoutPlan dropout) {
        stageTokens(ids, batch, time);
        ops.stageDropoutKeys(dropout.keys());
        return stageTargets(targets);
    }

    /**
     * The training work on the staged batch: forward, the mean loss times {@code gradScale} added to the step
     * state's loss slot ({@link io.jgpt.ops.StepState#LOSS}) on the backend, and the backward pass, which
     * accumulates the gradient of {@code gradScale * loss} (scale 1/k for k micro-batches). {@code valid} is
     * what {@link #stage} returned, {@code dropout} the plan staged with the batch. Nothing here copies between
     * host and backend.
     */
    public void trainStaged(DropoutPlan dropout, float gradScale, int valid, Tensor stepState) {
        trainStaged(dropout, gradScale, valid, stepState, module -> {});
    }

    /**
     * {@link #trainStaged(DropoutPlan, float, int, Tensor)}, telling {@code finished} the name of each
     * top-level module ("lm_head", "ln_f", "h.11", …, "h.0", "wpe", "wte": the prefixes of
     * {@link ParameterArena#backwardBuckets()}) as soon as the backward pass has completed its gradients, so
     * that their reduction across ranks can start while the rest of the backward pass runs.
     */
    public void trainStaged(DropoutPlan dropout, float gradScale, int valid, Tensor stepState, Consumer<String> finished) {
        forwardStaged(dropout);
        prepareBackward();
        Tensor losses = lossesStaged(true, gradScale / valid);
        ops.accumulateLoss(stepState, losses, gradScale / valid);
        backward(finished);
    }

    /** Everything up to the final LayerNorm's output (the output head runs with the loss, Ops.classifier). */
    private void forwardStaged(DropoutPlan dropout) {
        plan = dropout;
        DType a = act.embedded().dtype();
        ops.embeddingForward(act.embedded(), act.tokens(), wte.weight.readAs(a), wpe.weight.readAs(a));
        ops.dropoutForward(act.x0(), act.embedded(), plan.site(0));
        for (int l = 0; l < blocks.size(); l++) {
            blocks.get(l).forward(act.blocks().get(l), plan.site(1 + 3 * l), plan.site(2 + 3 * l), plan.site(3 + 3 * l));
        }
        lnF.forward(act.lnF());
    }

    /**
     * Inference with a key/value cache: runs {@code newTokens} more tokens of each of {@code batch} sequences
     * (ids (batch, newTokens), row-major), sequence b's at positions [cache.length(b), cache.length(b) +
     * newTokens), appends their keys and values to the cache and returns the logits of the last new position,
     * (batch, 1, V), valid until the next call. No dropout. Its activations are records of their own ({@link
     * Cached}): a training batch's are left alone.
     *
     * <p>A prompt is prefilled in one call: all but its last token only fill the cache, so the output head,
     * the largest matmul, runs for one position per sequence.
     */
    public Tensor forwardCached(int[] ids, int batch, int newTokens, KVCache cache) {
        checkCache(cache, batch);
        if (newTokens < 1 || ids.length != batch * newTokens) {
            throw new IllegalArgumentException("token batch has " + ids.length + " ids, expected " + batch + "x" + newTokens
                    + " with at least one new token");
        }
        for (int b = 0; b < batch; b++) {
            if (cache.length(b) + newTokens > cache.capacity()) {
                throw new IllegalArgumentException("positions up to " + (cache.length(b) + newTokens)
                        + " exceed the model's context length " + cache.capacity());
            }
        }
        checkIds(ids, "token");
        if (newTokens > 1) {
            int n = newTokens - 1;
            Cached fill = cacheFill.get(ops, batch, n, f -> allocateCached(f, batch, n, false));
            stageCached(fill, columns(ids, batch, newTokens, 0, n), positions(cache, 0, n));
            blocksCached(fill, cache);
        }
        Cached last = cacheLast.get(ops, batch, 1, f -> allocateCached(f, batch, 1, true));
        stageCached(last, columns(ids, batch, newTokens, newTokens - 1, newTokens), positions(cache, newTokens - 1, 1));
        for (int b = 0; b < batch; b++) cache.advance(b, newTokens);
        return headCached(last, cache);
    }

    /**
     * Stages one decoding step of every sequence of {@code cache} for {@link #runStagedStep}: ids[i] is the
     * next token of sequence seqs[i] (distinct), which advances by one position. Every other sequence computes
     * a throwaway token (id 0) at its next position, or its last one when it is full, and does not advance:
     * that row is beyond what it has filled, so its next token overwrites it before anything reads it, and a
     * full sequence is never read again before it is cleared. So the step has one shape for the whole batch
     * however many sequences still run, and a recorded graph of it serves every step.
     */
    public void stageStep(int[] seqs, int[] ids, KVCache cache) {
        int batch = cache.batch();
        checkCache(cache, batch);
        if (seqs.length != ids.length) throw new IllegalArgumentException(seqs.length + " sequences but " + ids.length + " ids");
        checkIds(ids, "token");
        int[] all = new int[batch], positions = new int[batch];
        boolean[] stepping = new boolean[batch];
        for (int i = 0; i < seqs.length; i++) {
            int s = seqs[i];
            if (s < 0 || s >= batch || stepping[s])
                throw new IllegalArgumentException("sequence " + s + " is not a distinct sequence of a cache of " + batch);
            if (cache.length(s) >= cache.capacity())
                throw new IllegalArgumentException("sequence " + s + " fills the model's context length " + cache.capacity());
            stepping[s] = true;
            all[s] = ids[i];
        }
        for (int s = 0; s < batch; s++) positions[s] = Math.min(cache.length(s), cache.capacity() - 1);
        Cached r = cacheSteps.computeIfAbsent(batch, b -> new PerShape<>()).get(ops, batch, 1, f -> allocateCached(f, batch, 1, true));
        stageCached(r, all, positions);
        for (int s : seqs) cache.advance(s, 1);
    }

    /**
     * The kernels of the step {@link #stageStep} staged, and nothing else (no host copy, allocation or wait),
     * so that a backend can record it as a graph ({@link Ops#capture}); returns the logits (batch, 1, V).
     * A graph of it stays valid while {@link #stepAllocations} does not change and the same cache is used.
     */
    public Tensor runStagedStep(KVCache cache) {
        PerShape<Cached> step = cacheSteps.get(cache.batch());
        Cached r = step == null ? null : step.current();
        if (r == null) throw new IllegalStateException("no decoding step of " + cache.batch() + " sequences is staged");
        return headCached(r, cache);
    }

    /**
     * How many times the record of a decoding step of {@code batch} sequences has been allocated: a recorded
     * step reads its addresses. Each batch size has its own, so decodings of different sizes do not move each
     * other's.
     */
    public long stepAllocations(int batch) {
        PerShape<Cached> p = cacheSteps.get(batch);
        return p == null ? 0 : p.allocations;
    }

    private void checkCache(KVCache cache, int batch) {
        if (cache.ops() != ops || cache.batch() != batch || cache.capacity() != config.contextLength()) {
            throw new IllegalArgumentException("the KV cache was made for another model, backend or batch size");
        }
    }

    /** Positions [length(b) + from, length(b) + from + n) of every sequence b, as a row-major (batch, n) array. */
    private static int[] positions(KVCache cache, int from, int n) {
        int[] out = new int[cache.batch() * n];
        for (int b = 0; b < cache.batch(); b++)
            for (int t = 0; t < n; t++) out[b * n + t] = cache.length(b) + from + t;
        return out;
    }

    /** Copies ids and their positions, both (batch, n), into the record's device tensors. */
    private void stageCached(Cached r, int[] ids, int[] positions) {
        ops.write(r.tokens(), ids);
        ops.write(r.positions(), positions);
    }

    /** The record's staged tokens through every block, the final norm and the output head: kernels only. */
    private Tensor headCached(Cached r, KVCache cache) {
        blocksCached(r, cache);
        ops.linearForward(r.logits(), lnF.forward(r.lnF()), headWeight().readAs(DType.F32), null);
        return r.logits();
    }

    /** Embeds the record's staged tokens at their staged positions and runs them through every block. */
    private void blocksCached(Cached r, KVCache cache) {
        // embeddingForward adds position rows 0..n-1, but these positions are the tokens' own: look up the
        // token and the position rows separately (wpe as a table indexed by position) with a zero position
        // term, then add.
        ops.zero(r.noPosition());
        ops.embeddingForward(r.x(), r.tokens(), wte.weight.readAs(DType.F32), r.noPosition());
        ops.embeddingForward(r.posEmbedded(), r.positions(), wpe.weight.readAs(DType.F32), r.noPosition());
        ops.add(r.x(), r.x(), r.posEmbedded());
        for (int l = 0; l < blocks.size(); l++)
            blocks.get(l).forwardCached(r.blocks().get(l), cache.keys[l], cache.values[l], r.positions());
    }

    /** Columns [from, to) of a row-major (batch, time) id array. */
    private static int[] columns(int[] ids, int batch, int time, int from, int to) {
        int[] out = new int[batch * (to - from)];
        for (int b = 0; b < batch; b++) System.arraycopy(ids, b * time + from, out, b * (to - from), to - from);
        return out;
    }

    /** Mean cross-entropy of the last forward pass's logits against targets (-100 = ignore); no gradients. */
    public float loss(int[] targets) {
        return meanOnHost(crossEntropy(targets, false, 0f));
    }

    /**
     * Mean cross-entropy of the last forward pass, then the backward pass: accumulates the gradient of
     * {@code gradScale * loss} into every parameter's gradient (scale 1/k when accumulating k micro-batches).
     */
    public float lossAndBackward(int[] targets, float gradScale) {
        prepareBackward();
        float loss = meanOnHost(crossEntropy(targets, true, gradScale));
        backward(module -> {});
        return loss;
    }

    /**
     * Records that every parameter gradient is now zero (the optimizer zeroed them while consuming them), so
     * the next {@link #zeroGradIfDirty} need not write them again. {@link #lossAndBackward} clears the mark;
     * whoever writes gradients any other way must not leave it set.
     */
    public void markGradientsZero() {
        gradientsZero = true;
    }

    /** {@link #zeroGrad()} unless the gradients are marked as already zero. */
    public void zeroGradIfDirty() {
        if (!gradientsZero) zeroGrad();
        gradientsZero = true;
    }

    /** Per-position losses (0 where ignored) and the number of targets that count. */
    private record Losses(Tensor perPosition, int valid) {}

    private float meanOnHost(Losses l) {
        double sum = 0;
        for (float x : ops.download(l.perPosition())) sum += x;
        return (float) (sum / l.valid());
    }

    private Losses crossEntropy(int[] targets, boolean withGrad, float gradScale) {
        int valid = stageTargets(targets);
        return new Losses(lossesStaged(withGrad, gradScale / valid), valid);
    }

    /** Checks targets against the staged tokens' shape and queues them; returns how many count. */
    private int stageTargets(int[] targets) {
        if (act == null) throw new IllegalStateException("no batch was staged: run forward first");
        int[] s = act.tokens().shape();
        if (targets.length != s[0] * s[1]) {
            throw new IllegalArgumentException("targets have " + targets.length + " ids, expected " + s[0] * s[1]);
        }
        int valid = checkIds(targets, "target");
        if (valid == 0) throw new IllegalArgumentException("every target is the ignore index -100; there is no loss to compute");
        ops.write(act.targets(), targets);
        return valid;
    }

    /**
     * Per-position losses of the last forward pass against the staged targets, the output head and the loss
     * chunk by chunk; with the gradient, also the head's weight gradient and that of the final LayerNorm's output
     * (zeroed first by {@link #prepareBackward}).
     */
    private Tensor lossesStaged(boolean withGrad, float dlossScale) {
        if (withGrad) gradientsZero = false;
        ops.classifier(act.losses(), withGrad ? act.dFinalNormed() : null, withGrad ? headWeight().grad() : null,
                act.lnF().out(), headWeight().readAs(act.logits().dtype()), act.targets(), dlossScale, act.logits());
        return act.losses();
    }

    /** The gradient buffers the classifier and the final LayerNorm accumulate into, zeroed. */
    private void prepareBackward() {
        ops.zero(act.dFinalNormed());
        ops.zero(act.dResidual());
    }

    /** Checks ids are in the vocabulary (targets may also be -100); returns how many are not ignored. */
    private int checkIds(int[] ids, String what) {
        int valid = 0;
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id == -100 && what.equals("target")) continue;
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException(what + " id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
            valid++;
        }
        return valid;
    }

    /** The backward pass after the classifier (which took the head's gradients and dFinalNormed). */
    private void backward(Consumer<String> finished) {
        if (lmHead != null) finished.accept("lm_head");
        Tensor d = act.dResidual();
        lnF.backward(act.lnF(), act.dFinalNormed(), d);
        finished.accept("ln_f");
        for (int l = blocks.size() - 1; l >= 0; l--) {
            blocks.get(l).backward(act.blocks().get(l), act.work(), d);
            finished.accept("h." + l);
        }
        // The first block's work buffer is free again: the dropout gradient of the embedding goes there.
        Tensor dEmbedded = TransformerBlock.dropoutGradient(ops, act.work().dBranch(), d, plan.site(0));
        ops.embeddingBackward(wte.weight.grad, wpe.weight.grad, dEmbedded, act.tokens());
        finished.accept("wpe");
        finished.accept("wte");
    }

    private Parameter headWeight() {
        return lmHead == null ? wte.weight : lmHead.weight;
    }

    /** The record of the (batch, time) shape asked for last, reallocated (the old one freed) when it changes. */
    private static final class PerShape<R> implements AutoCloseable {
        private ActivationArena<R> arena;
        private int batch;
        private int time;
        private long allocations;

        R get(Ops ops, int batch, int time, Function<ActivationArena.Fields, R> build) {
            if (arena == null || batch != this.batch || time != this.time) {
                close();
                arena = ActivationArena.allocate(ops, build);
                this.batch = batch;
                this.time = time;
                allocations++;
            }
            return arena.record();
        }

        /** The record allocated last, or null once closed (or before any). */
        R current() {
            return arena == null ? null : arena.record();
        }

        @Override
        public void close() {
            if (arena != null) arena.close();
            arena = null;
        }
    }
}
