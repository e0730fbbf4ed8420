package io.jgpt.model;

import io.jgpt.ops.Dropout;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

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

    /**
     * One block's saved activations: ln1's input is the block's input x, ln2's is x1; branch1/branch2 are the
     * residual branches after dropout, x2 the block's output.
     */
    public record Saved(LayerNorm.Saved ln1, MultiHeadAttention.Saved attn, Tensor branch1, Tensor x1,
                        LayerNorm.Saved ln2, FeedForward.Saved mlp, Tensor branch2, Tensor x2) {
        public Tensor in() {
            return ln1.in();
        }
    }

    /**
     * The backward pass's work buffers, used by one block at a time and so shared by all of them (each is
     * overwritten or zeroed before it is read): the gradient of a branch, of a LayerNorm's output, and the
     * attention's and the MLP's own. The residual stream's gradient is the caller's one buffer (see backward).
     */
    public record Work(Tensor dBranch, Tensor dNormed, MultiHeadAttention.Work attn, FeedForward.Work mlp) {
        static Work allocate(ActivationArena.Fields f, int batch, int time, int embDim, DType activations) {
            return new Work(f.take("block.dbranch", activations, batch, time, embDim),
                    f.take("block.dnormed", activations, batch, time, embDim),
                    MultiHeadAttention.Work.allocate(f, batch, time, embDim, activations),
                    FeedForward.Work.allocate(f, batch, time, embDim, activations));
        }
    }

    public TransformerBlock(Ops ops, GPTConfig cfg) {
        super(ops);
        ln1 = child("ln_1", new LayerNorm(ops, cfg.embDim()));
        attn = child("attn", new MultiHeadAttention(ops, cfg));
        ln2 = child("ln_2", new LayerNorm(ops, cfg.embDim()));
        mlp = child("mlp", new FeedForward(ops, cfg.embDim()));
    }

    /** The record of this block applied to {@code x} (B,T,C); fields are named after {@code name} ("h.3"). */
    Saved allocate(ActivationArena.Fields f, String name, Tensor x, DType activations) {
        LayerNorm.Saved n1 = ln1.allocate(f, name + ".ln_1", x, activations);
        MultiHeadAttention.Saved a = attn.allocate(f, name + ".attn", n1.out(), activations);
        Tensor branch1 = f.take(name + ".branch1", activations, x.shape());
        Tensor x1 = f.take(name + ".x1", activations, x.shape());
        LayerNorm.Saved n2 = ln2.allocate(f, name + ".ln_2", x1, activations);
        FeedForward.Saved m = mlp.allocate(f, name + ".mlp", n2.out(), activations);
        Tensor branch2 = f.take(name + ".branch2", activations, x.shape());
        Tensor x2 = f.take(name + ".x2", activations, x.shape());
        return new Saved(n1, a, branch1, x1, n2, m, branch2, x2);
    }

    /**
     * Runs the block on {@code s.in()} and returns its output {@code s.x2()}.
     *
     * @param attnDrop dropout on attention weights; drop1/drop2 on the two residual branches
     */
    public Tensor forward(Saved s, Dropout attnDrop, Dropout drop1, Dropout drop2) {
        this.drop1 = drop1;
        this.drop2 = drop2;
        ln1.forward(s.ln1());
        return residuals(s, attn.forward(s.attn(), attnDrop));
    }

    /** Inference through the key/value cache of this block (see {@link GPTModel#forwardCached}): no dropout. */
    public Tensor forwardCached(Saved s, Tensor kCache, Tensor vCache, Tensor positions) {
        drop1 = Dropout.NONE;
        drop2 = Dropout.NONE;
        ln1.forward(s.ln1());
        return residuals(s, attn.forwardCached(s.attn(), kCache, vCache, positions));
    }

    /** Both residual connections around the attention output {@code a}, with this pass's dropouts. */
    private Tensor residuals(Saved s, Tensor a) {
        // x1 = x + branch1 and ln2(x1) in one op (Ops.residualLayerNormForward).
        ln2.forwardResidual(s.ln2(), s.in(), dropped(s.branch1(), a, drop1));
        Tensor m = mlp.forward(s.mlp());
        ops.add(s.x2(), s.x1(), dropped(s.branch2(), m, drop2));
        return s.x2();
    }

    /** A residual branch after its dropout: the branch itself when the dropout is inactive, else into {@code into}. */
    private Tensor dropped(Tensor into, Tensor branch, Dropout dropout) {
        if (!dropout.active()) return branch;
        ops.dropoutForward(into, branch, dropout);
        return into;
    }

    /**
     * The backward pass in place on the residual stream's gradient {@code d}: it holds the gradient of the
     * block's output x2 on entry and that of its input x on return. Through a residual connection the gradient
     * passes unchanged, so each LayerNorm's input gradient is added into d (layerNormBackward accumulates):
     * after ln2 it is x1's gradient, after ln1 x's.
     */
    public void backward(Saved s, Work w, Tensor d) {
        // Second residual: x2 = x1 + dropout(mlp(ln2(x1))).
        ops.zero(w.dNormed());
        mlp.backward(s.mlp(), w.mlp(), dropoutGradient(ops, w.dBranch(), d, drop2), w.dNormed());
        ln2.backward(s.ln2(), w.dNormed(), d);
        // First residual: x1 = x + dropout(attn(ln1(x))).
        ops.zero(w.dNormed());
        attn.backward(s.attn(), w.attn(), dropoutGradient(ops, w.dBranch(), d, drop1), w.dNormed());
        ln1.backward(s.ln1(), w.dNormed(), d);
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
