package io.jgpt.model;

import io.jgpt.ops.Dropout;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;

/**
 * Pre-LayerNorm transformer block (chapter 4):
 * <pre>
 *   x1 = x  + dropout(attn(ln_1(x)))
 *   x2 = x1 + dropout(mlp(ln_2(x1)))
 * </pre>
 * The first residual and ln_2 run as one op (Ops.residualLayerNormForward), the MLP's GELU inside its GEMMs.
 */
public final class TransformerBlock extends Module {
    final LayerNorm ln1;
    final MultiHeadAttention attn;
    final LayerNorm ln2;
    final FeedForward mlp;
    private Dropout drop1 = Dropout.NONE;
    private Dropout drop2 = Dropout.NONE;

    public TransformerBlock(Ops ops, GPTConfig cfg) {
        super(ops);
        ln1 = child("ln_1", new LayerNorm(ops, cfg.embDim()));
        attn = child("attn", new MultiHeadAttention(ops, cfg));
        ln2 = child("ln_2", new LayerNorm(ops, cfg.embDim()));
        mlp = child("mlp", new FeedForward(ops, cfg.embDim()));
    }

    /** @param attnDrop dropout on attention weights; drop1/drop2 on the two residual branches */
    public Tensor forward(Tensor x, Dropout attnDrop, Dropout drop1, Dropout drop2) {
        this.drop1 = drop1;
        this.drop2 = drop2;
        return residuals(x, attn.forward(ln1.forward(x), attnDrop));
    }

    /** Inference through the key/value cache of this block (see {@link GPTModel#forwardCached}): no dropout. */
    public Tensor forwardCached(Tensor x, Tensor kCache, Tensor vCache, int pos) {
        drop1 = Dropout.NONE;
        drop2 = Dropout.NONE;
        return residuals(x, attn.forwardCached(ln1.forward(x), kCache, vCache, pos));
    }

    /** Both residual connections around the attention output {@code a}, with this pass's dropouts. */
    private Tensor residuals(Tensor x, Tensor a) {
        // x1 = x + branch1 and ln2(x1) in one op (Ops.residualLayerNormForward).
        Tensor x1 = scratch("x1", x.shape());
        Tensor m = mlp.forward(ln2.forwardResidual(x1, x, dropped("branch1", a, drop1)));
        Tensor x2 = scratch("x2", x.shape());
        ops.add(x2, x1, dropped("branch2", m, drop2));
        return x2;
    }

    /** A residual branch after its dropout: the branch itself when the dropout is inactive. */
    private Tensor dropped(String key, Tensor branch, Dropout dropout) {
        if (!dropout.active()) return branch;
        Tensor into = scratch(key, branch.shape());
        ops.dropoutForward(into, branch, dropout);
        return into;
    }

    /**
     * The backward pass in place on the residual stream's gradient {@code d}: it holds the gradient of the
     * block's output x2 on entry and that of its input x on return. Through a residual connection the gradient
     * passes unchanged, so each LayerNorm's input gradient is added into d (layerNormBackward accumulates):
     * after ln2 it is x1's gradient, after ln1 x's.
     */
    public void backward(Tensor d) {
        int[] s = d.shape();
        Tensor dBranch = scratch("dbranch", s);
        Tensor dNormed = scratch("dnormed", s);
        // Second residual: x2 = x1 + dropout(mlp(ln2(x1))).
        ops.zero(dNormed);
        mlp.backward(dropoutGradient(ops, dBranch, d, drop2), dNormed);
        ln2.backward(dNormed, d);
        // First residual: x1 = x + dropout(attn(ln1(x))).
        ops.zero(dNormed);
        attn.backward(dropoutGradient(ops, dBranch, d, drop1), dNormed);
        ln1.backward(dNormed, d);
    }

    /**
     * The gradient of a dropout's input given that of its output {@code dout}: dout itself when the dropout
     * is inactive, else the same mask and scale applied to dout, written into {@code into} by dropoutForward
     * (one pass, where zeroing and the accumulating dropoutBackward would take two).
     */
    static Tensor dropoutGradient(Ops ops, Tensor into, Tensor dout, Dropout dropout) {
        if (!dropout.active()) return dout;
        ops.dropoutForward(into, dout, dropout);
        return into;
    }

    void init(Init init) {
        ln1.init();
        ln2.init();
        attn.init(init);
        mlp.init(init);
    }
}
