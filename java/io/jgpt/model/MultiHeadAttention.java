package io.jgpt.model;

import io.jgpt.ops.Dropout;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/**
 * Causal multi-head self-attention (chapter 3): one fused projection to queries, keys and values, heads split
 * by reshape, scaled dot-product scores, the causal mask, softmax, dropout on the attention weights, heads
 * joined and projected. The mask is a non-persistent buffer, as in the book's {@code register_buffer}: it
 * moves with the module but is not part of a checkpoint. It is always the causal mask, and the training ops
 * honour it by definition ({@link Ops#attentionForward} is causal: it evaluates the mask's rule, key after
 * query, from positions instead of reading T×T entries); the cached inference path reads the buffer.
 *
 * <p>Saved for the backward pass: the packed projection, the attention output (also the input of c_proj) and
 * the per-row log-sum-exp of the scores (B, NH, T) — never the (B, NH, T, T) probabilities.
 */
public final class MultiHeadAttention extends Module {
    final Linear qkv;
    final Linear proj;
    final Buffer mask;
    private final int embDim;
    private final int nHeads;
    private Dropout dropout = Dropout.NONE;

    /**
     * Saved for the backward pass: the packed projection (its output is qkv (B,T,3C)), the attention output
     * y (B,T,C, also c_proj's input), the per-row log-sum-exp (B,NH,T, always fp32) and the output projection.
     */
    public record Saved(Linear.Saved qkv, Tensor y, Tensor lse, Linear.Saved proj) {}

    /** The backward pass's work buffers, shared by every block: the gradients of y and of qkv. */
    public record Work(Tensor dy, Tensor dqkv) {
        static Work allocate(ActivationArena.Fields f, int batch, int time, int embDim, DType activations) {
            return new Work(f.take("attn.dy", activations, batch, time, embDim),
                    f.take("attn.dqkv", activations, batch, time, 3 * embDim));
        }
    }

    public MultiHeadAttention(Ops ops, GPTConfig cfg) {
        super(ops);
        embDim = cfg.embDim();
        nHeads = cfg.nHeads();
        qkv = child("c_attn", new Linear(ops, embDim, 3 * embDim, cfg.qkvBias()));
        proj = child("c_proj", new Linear(ops, embDim, embDim, true));
        int maxT = cfg.contextLength();
        mask = buffer("mask", ops.upload(DType.F32, causalMask(maxT), maxT, maxT), false);
    }

    /** 1 above the diagonal (future positions, masked), 0 elsewhere: {@code torch.triu(ones, diagonal=1)}. */
    static float[] causalMask(int t) {
        float[] m = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) m[i * t + j] = 1f;
        }
        return m;
    }

    /** The record of this layer applied to {@code x} (B,T,C). */
    Saved allocate(ActivationArena.Fields f, String name, Tensor x, DType activations) {
        int[] s = x.shape();
        Linear.Saved packed = qkv.allocate(f, name + ".c_attn", x, activations);
        Tensor y = f.take(name + ".y", activations, s[0], s[1], embDim);
        Tensor lse = f.take(name + ".lse", DType.F32, s[0], nHeads, s[1]);
        return new Saved(packed, y, lse, proj.allocate(f, name + ".c_proj", y, activations));
    }

    public Tensor forward(Saved s, Dropout attnDropout) {
        dropout = attnDropout;
        ops.attentionForward(s.y(), s.lse(), qkv.forward(s.qkv()), nHeads, dropout);
        return proj.forward(s.proj());
    }

    /**
     * Inference through a key/value cache: {@code s.qkv().in()} (B,Tn,C) holds new tokens at {@code
     * positions} (B,Tn), whose keys and values go into kCache/vCache (B,NH,context,hs) before each new query
     * attends to its sequence's cached positions up to its own. The record's lse is not used.
     */
    public Tensor forwardCached(Saved s, Tensor kCache, Tensor vCache, Tensor positions) {
        ops.attentionCached(s.y(), qkv.forward(s.qkv()), kCache, vCache, mask.value, positions, nHeads);
        return proj.forward(s.proj());
    }

    public void backward(Saved s, Work w, Tensor dout, Tensor dx) {
        ops.zero(w.dy());
        ops.zero(w.dqkv());
        proj.backward(s.proj(), dout, w.dy());
        ops.attentionBackward(w.dqkv(), w.dy(), s.qkv().out(), s.y(), s.lse(), nHeads, dropout);
        qkv.backward(s.qkv(), w.dqkv(), dx);
    }

    void init(Init init) {
        qkv.init(init, false);
        proj.init(init, true);
    }
}
