package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Flat storage for a model's parameters, as llm.c keeps them: one allocation for every parameter value and
 * one for every gradient (and, through {@link #allocate()}, one for each AdamW moment), with each
 * {@link Parameter} a view at a fixed offset. The layout is the registration order (the state dict's order:
 * wte, wpe, h.0.*, h.1.*, …, ln_f, lm_head), so each block's parameters are one contiguous range — what a
 * data-parallel all-reduce wants as a bucket (see {@link #backwardBuckets()}). Every slot starts at a
 * multiple of {@link #ALIGN} elements; the padding between slots is zero in every arena and stays zero (its
 * gradient is zero, and AdamW maps a zero weight with a zero gradient and zero moments to zero).
 *
 * <p>Where the backend stores bf16 activations ({@link Ops#activationType()} BF16) a third arena holds the
 * weights rounded to bf16, the <b>compute copy</b> the products read: AdamW writes it in the same pass as the
 * weights ({@link Ops#adamw(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, io.jgpt.ops.AdamWConfig, boolean,
 * Tensor)}), and anything else that may change the values (initialisation, loading a checkpoint, handing out a
 * {@link Parameter#value()}) marks it stale, so {@link #refreshComputeCopy} narrows it again before the next
 * forward pass.
 *
 * <p>Code that works on single parameters (checkpoints, {@code Module.to}, the state dict, tests) sees
 * ordinary tensors; code that works on all of them at once (the optimizer, the gradient norm, zeroing,
 * gradient reduction) takes the arena tensors.
 */
public final class ParameterArena {

    /** Slot offsets are multiples of this many elements (256 bytes): aligned vector loads and GEMM operands. */
    public static final int ALIGN = 64;

    /** One parameter's place: elements [offset, offset + numel) of every arena tensor. */
    public record Slot(String name, long offset, int[] shape, boolean matrix) {
        public Slot {
            shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        public long numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }

        public long end() {
            return offset + numel();
        }
    }

    /** Elements [from, to) of an arena tensor holding the parameters whose names start with {@code prefix}. */
    public record Range(String prefix, long from, long to) {
        public long length() {
            return to - from;
        }
    }

    private final List<Slot> slots = new ArrayList<>();
    private final List<Parameter> parameters;
    private final long size;
    private Ops ops;
    private Tensor values;
    private Tensor grads;
    private Tensor copy;
    private boolean copyStale = true;

    /** Lays out {@code named} (dotted name → parameter, in order), allocates both arenas and binds the views. */
    ParameterArena(Ops ops, Map<String, Parameter> named) {
        long at = 0;
        for (var e : named.entrySet()) {
            Slot s = new Slot(e.getKey(), at, e.getValue().shape(), e.getValue().isMatrix());
            slots.add(s);
            at = align(s.end());
        }
        if (at > Integer.MAX_VALUE)
            throw new IllegalArgumentException("the model has " + at + " parameters (with padding), more than one arena"
                    + " of " + Integer.MAX_VALUE + " elements can hold");
        size = Math.max(at, ALIGN);
        parameters = List.copyOf(named.values());
        this.ops = ops;
        allocate(ops);
        bind();
    }

    private static long align(long n) {
        return (n + ALIGN - 1) / ALIGN * ALIGN;
    }

    private void allocate(Ops on) {
        ops = on;
        values = on.zeros(DType.F32, Math.toIntExact(size));
        grads = on.zeros(DType.F32, Math.toIntExact(size));
        copy = on.activationType() == DType.BF16 ? on.zeros(DType.BF16, Math.toIntExact(size)) : null;
        copyStale = true;
    }

    private void bind() {
        for (int i = 0; i < slots.size(); i++) {
            Parameter p = parameters.get(i);
            p.arena = this;
            p.value = view(values, slots.get(i));
            p.grad = view(grads, slots.get(i));
            p.copy = copy == null ? null : view(copy, slots.get(i));
        }
    }

    private Tensor view(Tensor arena, Slot s) {
        return ops.view(arena, s.offset(), s.shape());
    }

    /** The slots in layout order (the order of {@link #parameters()}). */
    public List<Slot> slots() {
        return List.copyOf(slots);
    }

    /** The parameters in layout order. */
    public List<Parameter> parameters() {
        return parameters;
    }

    /** Elements of every arena tensor, padding included. */
    public long size() {
        return size;
    }

    public Ops ops() {
        return ops;
    }

    /** Every parameter value, one (size) tensor. */
    public Tensor values() {
        return values;
    }

    /** Every parameter gradient, one (size) tensor with the same layout as {@link #values()}. */
    public Tensor gradients() {
        return grads;
    }

    /** The weights rounded to bf16 (BF16, this layout) where the backend stores bf16 activations, else null. */
    public Tensor computeCopy() {
        return copy;
    }

    /** The values may have changed other than through AdamW: the compute copy is made again before it is read. */
    public void valuesChanged() {
        copyStale = true;
    }

    /**
     * Narrows the values into the compute copy if they may have changed since it was made (one pass on the
     * backend, queued; nothing when the last change was an AdamW step, which writes the copy itself).
     */
    public void refreshComputeCopy() {
        if (copy == null || !copyStale) return;
        ops.copy(copy, values);
        copyStale = false;
    }

    /** A new zero tensor with this arena's layout (AdamW's moments). */
    public Tensor allocate() {
        return ops.zeros(DType.F32, Math.toIntExact(size));
    }

    /** Per-parameter views of a tensor with this arena's layout, in layout order. */
    public List<Tensor> views(Tensor arena) {
        if (arena.numel() != size)
            throw new IllegalArgumentException("tensor " + arena + " does not have the arena's " + size + " elements");
        List<Tensor> out = new ArrayList<>(slots.size());
        for (Slot s : slots) out.add(view(arena, s));
        return out;
    }

    /**
     * Contiguous ranges covering [0, size) exactly, one per top-level module ("wte", "wpe", "h.0", …, "ln_f",
     * "lm_head"; a block's range holds all of its parameters), in <b>reverse</b> layout order: the order in
     * which a backward pass finishes them (the last block first; the token embedding, whose gradient the tied
     * output head starts and the embedding backward completes, last). Each range includes the padding after
     * its last slot.
     */
    public List<Range> backwardBuckets() {
        Map<String, long[]> byModule = new LinkedHashMap<>();
        for (Slot s : slots) byModule.computeIfAbsent(topLevel(s.name()), k -> new long[] {s.offset(), 0})[1] = s.end();
        List<Range> out = new ArrayList<>();
        List<String> names = new ArrayList<>(byModule.keySet());
        for (int i = 0; i < names.size(); i++) {
            long from = i == 0 ? 0 : byModule.get(names.get(i))[0];
            long to = i + 1 < names.size() ? byModule.get(names.get(i + 1))[0] : size;
            out.add(new Range(names.get(i), from, to));
        }
        return out.reversed();
    }

    /** "h.3.attn.c_attn.weight" → "h.3"; "wte.weight" → "wte". */
    private static String topLevel(String name) {
        String[] parts = name.split("\\.");
        return parts.length > 2 && parts[1].chars().allMatch(Character::isDigit) ? parts[0] + "." + parts[1] : parts[0];
    }

    /**
     * Moves the arenas to another backend and re-binds every parameter's views ({@code Module.to}); the compute
     * copy is allocated anew if the target wants one, and made before the next forward pass.
     */
    void moveTo(Ops target) {
        float[] v = ops.download(values), g = ops.download(grads);
        values.close();
        grads.close();
        if (copy != null) copy.close();
        allocate(target);
        target.write(values, v);
        target.write(grads, g);
        bind();
    }
}
