package io.jgpt.decode;

import io.jgpt.cpu.DecodeKernels;
import io.jgpt.generate.Decoding;
import io.jgpt.model.GPTConfig;
import java.util.Arrays;

/**
 * GPT-2 inference on the CPU for a few rows at a time: each step reads every weight once (see {@link
 * io.jgpt.cpu.MatVec}), so it runs at the speed of memory. It holds a key/value cache for a fixed number of
 * sequences; a row of a call is a token of one sequence at that sequence's next position, so prompts of
 * different lengths decode together. The arithmetic is the training forward pass's (pre-LN blocks, tanh
 * GELU, causal attention), in float32 whatever the weights' storage type.
 */
public final class Decoder implements Decoding {
    /** Prompt positions run through the blocks together (each weight slice is re-read from L2 per 4 rows). */
    static final int PREFILL_ROWS = 64;

    private final DecoderWeights weights;
    private final DecodeKernels kernels;
    private final GPTConfig config;
    private final int sequences;
    private final float[][] keys;
    private final float[][] values;
    private final int[] lengths;

    /** @param sequences how many sequences the key/value cache holds (the batch) */
    public Decoder(DecoderWeights weights, int threads, int sequences) {
        if (sequences < 1) throw new IllegalArgumentException("a decoder needs at least one sequence, got " + sequences);
        this.weights = weights;
        this.config = weights.config();
        this.kernels = new DecodeKernels(threads);
        this.sequences = sequences;
        long perLayer = (long) sequences * config.contextLength() * config.embDim();
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(sequences + " sequences of " + config.contextLength()
                    + " positions do not fit one key/value array per layer; use fewer sequences");
        }
        keys = new float[config.nLayers()][(int) perLayer];
        values = new float[config.nLayers()][(int) perLayer];
        lengths = new int[sequences];
    }

    public DecoderWeights weights() {
        return weights;
    }

    /** Bytes of key/value cache held. */
    public long cacheBytes() {
        return 2L * 4 * keys.length * keys[0].length;
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int capacity() {
        return config.contextLength();
    }

    @Override
    public int sequences() {
        return sequences;
    }

    @Override
    public int length(int seq) {
        return lengths[checkSeq(seq)];
    }

    @Override
    public void reset(int seq) {
        lengths[checkSeq(seq)] = 0;
    }

    @Override
    public float[] prefill(int seq, int[] ids) {
        checkSeq(seq);
        if (ids.length == 0) throw new IllegalArgumentException("prefill needs at least one token");
        weights.awaitWarmUp(); // the first prompt runs compiled kernels
        float[] logits = null;
        for (int from = 0; from < ids.length; from += PREFILL_ROWS) {
            int n = Math.min(PREFILL_ROWS, ids.length - from);
            int[] seqs = new int[n];
            Arrays.fill(seqs, seq);
            boolean last = from + n == ids.length;
            logits = run(seqs, Arrays.copyOfRange(ids, from, from + n), last ? n - 1 : -1);
        }
        weights.packInBackground(); // after the first prompt, so that the first token does not wait for it
        return logits;
    }

    @Override
    public float[][] step(int[] seqs, int[] ids) {
        if (seqs.length != ids.length || seqs.length == 0) {
            throw new IllegalArgumentException("step needs one token per sequence, got " + ids.length + " for " + seqs.length);
        }
        boolean[] seen = new boolean[sequences];
        for (int s : seqs) {
            if (seen[checkSeq(s)]) throw new IllegalArgumentException("sequence " + s + " appears twice in one step");
            seen[s] = true;
        }
        float[] all = run(seqs, ids, -2);
        int v = config.vocabSize();
        float[][] out = new float[seqs.length][];
        for (int r = 0; r < seqs.length; r++) out[r] = Arrays.copyOfRange(all, r * v, (r + 1) * v);
        return out;
    }

    /**
     * Runs row r = token ids[r] of sequence seqs[r] through the model and returns logits: of row
     * {@code logitRow} only (>= 0), of every row (-2), or none (-1).
     */
    private float[] run(int[] seqs, int[] ids, int logitRow) {
        int n = ids.length, c = config.embDim(), v = config.vocabSize();
        int[] positions = new int[n];
        int[] next = lengths.clone();
        for (int r = 0; r < n; r++) {
            if (ids[r] < 0 || ids[r] >= v) {
                throw new IllegalArgumentException("token id " + ids[r] + " is outside the vocabulary [0, " + v + ")");
            }
            positions[r] = next[seqs[r]]++;
            if (positions[r] >= config.contextLength()) {
                throw new IllegalArgumentException("sequence " + seqs[r] + " would exceed the context length " + config.contextLength());
            }
        }
        float[] x = new float[n * c], h = new float[n * c], qkv = new float[n * 3 * c], att = new float[n * c];
        float[] proj = new float[n * c], x1 = new float[n * c], fc = new float[n * 4 * c], act = new float[n * 4 * c];
        kernels.embed(x, weights.wte(), weights.wpe(), ids, positions);
        for (int l = 0; l < config.nLayers(); l++) {
            DecoderWeights.Block b = weights.blocks().get(l);
            kernels.layerNorm(h, x, b.ln1Weight(), b.ln1Bias(), n, c);
            kernels.linear(b.qkv(), b.qkvBias(), h, qkv, n);
            kernels.attention(att, keys[l], values[l], qkv, seqs, positions, c, config.nHeads(), config.contextLength());
            kernels.linear(b.proj(), b.projBias(), att, proj, n);
            kernels.add(x1, x, proj);
            kernels.layerNorm(h, x1, b.ln2Weight(), b.ln2Bias(), n, c);
            kernels.linear(b.fc(), b.fcBias(), h, fc, n);
            kernels.gelu(act, fc);
            kernels.linear(b.fcProj(), b.fcProjBias(), act, proj, n);
            kernels.add(x, x1, proj);
        }
        System.arraycopy(next, 0, lengths, 0, sequences);
        if (logitRow == -1) return null;
        int rows = logitRow == -2 ? n : 1;
        float[] last = logitRow == -2 ? x : Arrays.copyOfRange(x, logitRow * c, (logitRow + 1) * c);
        float[] normed = new float[rows * c], logits = new float[rows * v];
        kernels.layerNorm(normed, last, weights.lnFWeight(), weights.lnFBias(), rows, c);
        kernels.linear(weights.head(), null, normed, logits, rows);
        return logits;
    }

    private int checkSeq(int seq) {
        if (seq < 0 || seq >= sequences) throw new IllegalArgumentException("sequence " + seq + " is not in [0, " + sequences + ")");
        return seq;
    }

    /** Closes the worker pool; the weights stay open (they may serve another decoder). */
    @Override
    public void close() {
        kernels.close();
    }
}
