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
    private Tensor qkvOut;
    private Tensor attnOut;
    private Dropout dropout = Dropout.NONE;

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

    public Tensor forward(Tensor x, Dropout attnDropout) {
        int[] s = x.shape();
        dropout = attnDropout;
        qkvOut = qkv.forward(x);
        attnOut = scratch("y", s[0], s[1], embDim);
        ops.attentionForward(attnOut, lse(s), qkvOut, nHeads, dropout);
        return proj.forward(attnOut);
    }

    /**
     * Inference through a key/value cache: x (B,Tn,C) holds positions [pos, pos+Tn), whose keys and values
     * are appended to kCache/vCache (B,NH,context,hs) before the new queries attend to every cached position.
     */
    public Tensor forwardCached(Tensor x, Tensor kCache, Tensor vCache, int pos) {
        int[] s = x.shape();
        Tensor packed = qkv.forward(x);
        Tensor y = scratch("cachedY", s[0], s[1], embDim); // not "y": that one is saved for backward
        ops.attentionCached(y, packed, kCache, vCache, mask.value, pos, nHeads);
        return proj.forward(y);
    }

    public void backward(Tensor dout, Tensor dx) {
        int[] s = dx.shape();
        Tensor dy = scratch("dy", s[0], s[1], embDim);
        Tensor dqkv = scratch("dqkv", s[0], s[1], 3 * embDim);
        ops.zero(dy);
        ops.zero(dqkv);
        proj.backward(dout, dy);
        ops.attentionBackward(dqkv, dy, qkvOut, attnOut, lse(s), nHeads, dropout);
        qkv.backward(dqkv, dx);
    }

    private Tensor lse(int[] s) {
        return scratch("lse", s[0], nHeads, s[1]);
    }

    void init(Init init) {
        qkv.init(init, false);
        proj.init(init, true);
    }
}
