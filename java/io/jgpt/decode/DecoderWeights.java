package io.jgpt.decode;

import io.jgpt.JgptException;
import io.jgpt.cpu.HugePages;
import io.jgpt.cpu.KernelWarmUp;
import io.jgpt.cpu.PanelPacking;
import io.jgpt.cpu.WeightMatrix;
import io.jgpt.cpu.WeightMatrix.Layout;
import io.jgpt.cpu.WeightMatrix.Type;
import io.jgpt.io.Dtype;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.io.Gpt2Config;
import io.jgpt.io.HostTensor;
import io.jgpt.io.MappedFile;
import io.jgpt.io.ModelWeights;
import io.jgpt.io.SafetensorsFile;
import io.jgpt.model.GPTConfig;
import io.jgpt.tensor.Bf16;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A GPT-2's weights as the {@link Decoder} streams them. Matrices are {@link WeightMatrix}es in their
 * source's orientation and in the requested element type; vectors (LayerNorm gains, biases) are small float
 * arrays. From a safetensors checkpoint, tensors already in the requested type are used where the file is
 * mapped (no copy, no heap); only tensors that must change type are converted, into native memory, in
 * (out, in) order or, for (in, out) ones, in panels. (in, out) matrices used in place get a panel copy
 * ({@link PanelPacking}) in the background once decoding has started.
 */
public final class DecoderWeights implements AutoCloseable {

    /** One transformer block; qkvBias is null for a model without it. */
    public record Block(float[] ln1Weight, float[] ln1Bias, WeightMatrix qkv, float[] qkvBias,
                        WeightMatrix proj, float[] projBias, float[] ln2Weight, float[] ln2Bias,
                        WeightMatrix fc, float[] fcBias, WeightMatrix fcProj, float[] fcProjBias) {}

    private final GPTConfig config;
    private final WeightMatrix wte;
    private final WeightMatrix wpe;
    private final List<Block> blocks;
    private final float[] lnFWeight;
    private final float[] lnFBias;
    private final WeightMatrix head;
    private final AutoCloseable owner; // the mapped file and native copies, or nothing
    private final PanelPacking packing;
    private volatile KernelWarmUp warmUp; // set by DecoderSource; awaited before the first prefill

    private DecoderWeights(GPTConfig config, WeightMatrix wte, WeightMatrix wpe, List<Block> blocks,
                           float[] lnFWeight, float[] lnFBias, WeightMatrix head, AutoCloseable owner) {
        this.config = config;
        this.wte = wte;
        this.wpe = wpe;
        this.blocks = List.copyOf(blocks);
        this.lnFWeight = lnFWeight;
        this.lnFBias = lnFBias;
        this.head = head;
        this.owner = owner;
        this.packing = new PanelPacking(blockMatrices());
    }

    /** Every block's four matrices, layer by layer. */
    private List<WeightMatrix> blockMatrices() {
        List<WeightMatrix> all = new ArrayList<>();
        for (Block b : blocks) all.addAll(List.of(b.qkv(), b.proj(), b.fc(), b.fcProj()));
        return all;
    }

    public GPTConfig config() {
        return config;
    }

    public WeightMatrix wte() {
        return wte;
    }

    public WeightMatrix wpe() {
        return wpe;
    }

    public List<Block> blocks() {
        return blocks;
    }

    public float[] lnFWeight() {
        return lnFWeight;
    }

    public float[] lnFBias() {
        return lnFBias;
    }

    /** The output head: wte itself when tied. */
    public WeightMatrix head() {
        return head;
    }

    /** The element type of the matrices. */
    public Type type() {
        return head.type();
    }

    /**
     * One small corner ({@link WeightMatrix#corner}) of each kind of matrix held (orientation, type and
     * memory), odd-sized so that the kernels' scalar tails run too: what {@link
     * KernelWarmUp#weightsOpen} needs.
     */
    public List<WeightMatrix> warmUpSamples() {
        Block b = blocks.get(0);
        List<WeightMatrix> all = List.of(b.qkv(), b.proj(), b.fc(), b.fcProj(), head);
        Map<String, WeightMatrix> kinds = new java.util.LinkedHashMap<>();
        for (WeightMatrix m : all) {
            int in = Math.min(m.in(), 37);
            // Whole pairs of panels where the matrix has them (panels; an (in, out) matrix's blocks of four rows),
            // so that the kernels the real products take are the ones that warm up.
            boolean pairs = m.layout() == Layout.PANELS || (m.layout() == Layout.ROWS_ARE_INPUTS && WeightMatrix.wholePanelPairs(m.out()));
            int out = pairs ? 2 * WeightMatrix.panelWidth() : Math.min(m.out(), 41);
            kinds.putIfAbsent(m.layout() + "/" + m.type() + "/" + m.segmentKind(), m.corner(in, out));
        }
        return List.copyOf(kinds.values());
    }

    /** Bytes one decoding step must read: every block matrix and the head (the embeddings only a row each). */
    public long bytesPerToken() {
        return head.bytes() + blockMatrices().stream().mapToLong(WeightMatrix::bytes).sum();
    }

    /** Bytes of weights held (the embedding once when the head is tied). */
    public long bytes() {
        long bytes = bytesPerToken() + wpe.bytes();
        return head == wte ? bytes : bytes + wte.bytes();
    }

    /** Whether any matrix is read in place from a mapped file. */
    private boolean readsTheFile() {
        return wte.isMapped() || wpe.isMapped() || head.isMapped() || blockMatrices().stream().anyMatch(WeightMatrix::isMapped);
    }

    /** Gives the kernels' warm-up its samples of these weights; {@link #awaitWarmUp} and {@link #close} wait for it. */
    void warmUpWith(KernelWarmUp w) {
        warmUp = w;
        w.weightsOpen(warmUpSamples());
    }

    /** Waits for the kernels' warm-up that {@link DecoderSource#open} started, if any (the first prefill does). */
    public void awaitWarmUp() {
        KernelWarmUp w = warmUp;
        if (w != null) w.await();
    }

    /**
     * Starts making the (in, out) matrices' panel copies on a background thread, once (later calls do
     * nothing). The {@link Decoder} calls it after its first prefill: the first token does not wait for them,
     * and the results do not change when they arrive.
     */
    public void packInBackground() {
        packing.start();
    }

    /** Completes once every (in, out) matrix streams its panel copy; at once when there are none. */
    public CompletableFuture<Void> packed() {
        return packing.done();
    }

    /** How many matrices get a panel copy. */
    public int packedMatrices() {
        return packing.count();
    }

    @Override
    public void close() {
        KernelWarmUp w = warmUp;
        if (w != null) { // it may be reading corners of the mapped file
            w.cancel();
            w.await();
        }
        packing.close();
        try {
            owner.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing decoder weights", e);
        }
    }

    // ---- from jgpt's own tensors (a preset, an llm.c file, a model in memory) -----------------------

    /**
     * Weights under jgpt's names and layouts (linear weights (out, in)). F32 wraps the arrays without a
     * copy; BF16 rounds the matrices into native memory.
     */
    public static DecoderWeights of(ModelWeights weights, Type type) {
        GPTConfig c = weights.shape();
        Map<String, HostTensor> t = weights.tensors();
        Arena arena = Arena.ofShared();
        Matrices m = (name, in, out) -> {
            float[] data = require(t, name, "model").data();
            WeightMatrix f32 = WeightMatrix.ofArray(data, in, out, Layout.ROWS_ARE_OUTPUTS);
            return type == Type.F32 ? f32 : roundedCopy(MemorySegment.ofArray(data), Dtype.F32, in, out, Layout.ROWS_ARE_OUTPUTS, arena);
        };
        Vectors v = name -> require(t, name, "model").data();
        return assemble(c, m, v, t.containsKey("lm_head.weight"), arena);
    }

    // ---- from a mapped safetensors checkpoint -------------------------------------------------------

    /**
     * Maps {@code dir/model.safetensors} (Hugging Face GPT-2 names, with or without {@code transformer.};
     * Conv1D weights (in, out)). {@code type} null keeps the file's type (F16 becomes F32).
     */
    public static DecoderWeights map(Path dir, Type type) {
        GPTConfig configured = Gpt2Config.read(dir.resolve(Gpt2Config.FILE));
        SafetensorsFile file = SafetensorsFile.open(dir.resolve(Gpt2Checkpoint.WEIGHTS_FILE));
        Arena arena = Arena.ofShared();
        try {
            // A zero qkv bias (what jgpt writes for a model without one) changes nothing, so any is used.
            configured = configured.withQkvBias(file.contains("transformer.h.0.attn.c_attn.bias") || file.contains("h.0.attn.c_attn.bias"));
            Type target = type != null ? type : file.dtype(name(file, "wte.weight")) == Dtype.BF16 ? Type.BF16 : Type.F32;
            Matrices m = (name, in, out) -> mapped(file, name, in, out, target, arena);
            Vectors v = name -> vector(file, name);
            boolean untied = !configured.tiedHead() || (file.contains("lm_head.weight") && !sameBytes(file, "lm_head.weight", name(file, "wte.weight")));
            DecoderWeights weights = assemble(configured, m, v, untied, () -> {
                arena.close();
                file.close();
            });
            // Every matrix converted: what was read of the file (the vectors, pages around the conversions'
            // chunks; 4.5 MB for GPT-2 small) need not stay resident.
            if (!weights.readsTheFile()) file.unload();
            return weights;
        } catch (RuntimeException e) {
            arena.close();
            file.close();
            throw e;
        }
    }

    /** The file's name for a jgpt tensor name: with the transformer. prefix or without (lm_head never has it). */
    private static String name(SafetensorsFile file, String jgpt) {
        String prefixed = "transformer." + jgpt;
        if (file.contains(prefixed)) return prefixed;
        if (file.contains(jgpt)) return jgpt;
        throw new JgptException(file.path() + ": tensor '" + jgpt + "' is missing");
    }

    private static boolean sameBytes(SafetensorsFile file, String a, String b) {
        return file.dtype(a) == file.dtype(b) && file.data(a).mismatch(file.data(b)) == -1;
    }

    private static float[] vector(SafetensorsFile file, String jgpt) {
        return file.readFloats(name(file, jgpt));
    }

    /**
     * A matrix from the file: Conv1D weights are stored (in, out), the embeddings and lm_head (out, in).
     * Used in place when the file holds the target type, else converted.
     */
    private static WeightMatrix mapped(SafetensorsFile file, String jgpt, int in, int out, Type target, Arena arena) {
        String name = jgpt.equals("lm_head.weight") && file.contains(jgpt) ? jgpt : name(file, jgpt);
        boolean conv1d = jgpt.startsWith("h.");
        Layout layout = conv1d ? Layout.ROWS_ARE_INPUTS : Layout.ROWS_ARE_OUTPUTS;
        int[] expected = conv1d ? new int[] {in, out} : new int[] {out, in};
        int[] shape = file.shape(name);
        if (!Arrays.equals(shape, expected)) {
            throw new JgptException(file.path() + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + ", config.json needs " + Arrays.toString(expected));
        }
        Dtype stored = file.dtype(name);
        MemorySegment data = file.data(name);
        if (stored == Dtype.F32 && target == Type.F32) return new WeightMatrix(data, in, out, layout, Type.F32);
        if (stored == Dtype.BF16 && target == Type.BF16) return new WeightMatrix(data, in, out, layout, Type.BF16);
        if (!stored.readableAsFloat()) {
            throw new JgptException(file.path() + ": tensor '" + name + "' has dtype " + stored + "; weights must be F32, F16 or BF16");
        }
        if (target == Type.BF16 && conv1d && WeightMatrix.wholePanelPairs(out)) return roundedPanels(data, stored, in, out, arena);
        return target == Type.BF16 ? roundedCopy(data, stored, in, out, layout, arena)
                : widenedCopy(data, stored, in, out, layout, arena);
    }

    // ---- conversions into native memory -------------------------------------------------------------

    private static final ValueLayout.OfShort SHORT = MappedFile.SHORT_LE;
    private static final ValueLayout.OfFloat FLOAT = MappedFile.FLOAT_LE;


    /** A bf16 copy (round to nearest even) of a float matrix, written (out, in). */
    private static WeightMatrix roundedCopy(MemorySegment src, Dtype type, int in, int out, Layout layout, Arena arena) {
        MemorySegment dst = HugePages.allocate(arena, 2L * in * out);
        short[] bits = new short[TILE * TILE];
        copyByOutputs(src, type, in, out, layout, (values, from, at, n) -> {
            for (int k = 0; k < n; k++) bits[k] = Bf16.fromFloat(values[from + k]);
            MemorySegment.copy(bits, 0, dst, SHORT, 2 * at, n);
        });
        return new WeightMatrix(dst, in, out, Layout.ROWS_ARE_OUTPUTS, Type.BF16);
    }

    /** Source rows rounded per batch: a few hundred KB of scratch, so that the heap does not grow for it. */
    private static final int PANEL_BATCH_ROWS = 16;

    /**
     * A bf16 copy (round to nearest even) of an (in, out) float matrix, written in panels ({@link
     * WeightMatrix#panelIndex}): for bf16 the panel kernels streamed GPT-2 small's block matrices faster than
     * the dot-product kernel on an (out, in) copy (one row: 23 against 21 GB/s; eight rows: 12 against
     * 8 GB/s of weights, alternating runs). The source is read once, in order, and given back per chunk.
     */
    private static WeightMatrix roundedPanels(MemorySegment src, Dtype type, int in, int out, Arena arena) {
        MemorySegment dst = HugePages.allocate(arena, 2L * in * out);
        int p = WeightMatrix.panelWidth(), batch = Math.min(in, PANEL_BATCH_ROWS);
        float[] values = new float[batch * out];
        short[] staged = new short[batch * out], raw = type == Dtype.F32 ? null : new short[batch * out];
        long given = 0; // source elements whose pages have been given back
        for (int i0 = 0; i0 < in; i0 += batch) {
            int n = Math.min(batch, in - i0);
            read(src, type, (long) i0 * out, values, 0, n * out, raw);
            // Rows i0 .. i0 + n of panel q are one contiguous run of the copy: stage them panel by panel.
            for (int r = 0; r < n; r++) {
                for (int q = 0; q < out / p; q++) {
                    for (int j = 0; j < p; j++) staged[(q * n + r) * p + j] = Bf16.fromFloat(values[r * out + q * p + j]);
                }
            }
            for (int q = 0; q < out / p; q++) {
                MemorySegment.copy(staged, q * n * p, dst, SHORT, 2 * WeightMatrix.panelIndex(in, i0, q * p), n * p);
            }
            long read = (long) (i0 + n) * out;
            if (src.isMapped() && (read - given >= CHUNK_ELEMENTS || i0 + n == in)) {
                src.asSlice(given * type.bytes(), (read - given) * type.bytes()).unload();
                given = read;
            }
        }
        return new WeightMatrix(dst, in, out, Layout.PANELS, Type.BF16);
    }

    /** A float32 copy (exact) of a 16-bit float matrix, written (out, in). */
    private static WeightMatrix widenedCopy(MemorySegment src, Dtype type, int in, int out, Layout layout, Arena arena) {
        MemorySegment dst = HugePages.allocate(arena, 4L * in * out);
        copyByOutputs(src, type, in, out, layout, (values, from, at, n) -> MemorySegment.copy(values, from, dst, FLOAT, 4 * at, n));
        return new WeightMatrix(dst, in, out, Layout.ROWS_ARE_OUTPUTS, Type.F32);
    }

    /** Receives values[from, from + n) as elements [at, at + n) of the (out, in) copy. */
    private interface Sink {
        void write(float[] values, int from, long at, int n);
    }

    /** Source elements per conversion chunk: a mapped source gives its pages back after each (16 MiB of F32). */
    private static final long CHUNK_ELEMENTS = 1 << 22;
    /** Side of the square tiles an (in, out) source is transposed in; also the most elements one write hands over. */
    private static final int TILE = 64;

    /**
     * Hands every element of the source to {@code sink} at its index in an (out, in) copy: a copy being made
     * anyway is written in the order the dot-product kernel streams fastest ({@link Layout#ROWS_ARE_OUTPUTS}),
     * so a converted Conv1D weight is transposed on the way, a tile at a time. The source is read in chunks of
     * whole rows; for a mapped source each chunk's pages leave this process's memory once converted, so the
     * peak holds the copy plus one chunk, not the copy plus the whole tensor.
     */
    private static void copyByOutputs(MemorySegment src, Dtype type, int in, int out, Layout layout, Sink sink) {
        boolean transpose = layout == Layout.ROWS_ARE_INPUTS;
        int rows = transpose ? in : out, cols = transpose ? out : in;
        int chunkRows = (int) Math.max(TILE, CHUNK_ELEMENTS / cols / TILE * TILE);
        float[] tile = new float[TILE * TILE], turned = new float[TILE * TILE];
        short[] raw = new short[TILE];
        for (int r0 = 0; r0 < rows; r0 += chunkRows) {
            int r1 = Math.min(rows, r0 + chunkRows);
            for (int t0 = r0; t0 < r1; t0 += TILE) {
                int tr = Math.min(TILE, r1 - t0);
                for (int c0 = 0; c0 < cols; c0 += TILE) {
                    int tc = Math.min(TILE, cols - c0);
                    for (int r = 0; r < tr; r++) read(src, type, (long) (t0 + r) * cols + c0, tile, r * tc, tc, raw);
                    if (!transpose) { // source rows are the copy's rows
                        for (int r = 0; r < tr; r++) sink.write(tile, r * tc, (long) (t0 + r) * cols + c0, tc);
                        continue;
                    }
                    for (int r = 0; r < tr; r++) for (int c = 0; c < tc; c++) turned[c * tr + r] = tile[r * tc + c];
                    for (int c = 0; c < tc; c++) sink.write(turned, c * tr, (long) (c0 + c) * in + t0, tr); // output c0 + c, inputs t0..
                }
            }
            if (src.isMapped()) src.asSlice((long) r0 * cols * type.bytes(), (long) (r1 - r0) * cols * type.bytes()).unload();
        }
    }

    /** Source elements [first, first + n) as floats into dst[off, off + n); {@code raw} holds n 16-bit values. */
    private static void read(MemorySegment src, Dtype type, long first, float[] dst, int off, int n, short[] raw) {
        if (type == Dtype.F32) {
            MemorySegment.copy(src, FLOAT, 4 * first, dst, off, n);
            return;
        }
        MemorySegment.copy(src, SHORT, 2 * first, raw, 0, n);
        for (int k = 0; k < n; k++) {
            dst[off + k] = switch (type) {
                case BF16 -> Bf16.toFloat(raw[k]);
                case F16 -> Float.float16ToFloat(raw[k]);
                default -> throw new IllegalStateException("not a float type: " + type);
            };
        }
    }

    // ---- assembly, shared by both sources -----------------------------------------------------------

    /** A matrix named as in jgpt ("h.0.attn.c_attn.weight") with the layer's input and output widths. */
    private interface Matrices {
        WeightMatrix get(String name, int in, int out);
    }

    private interface Vectors {
        float[] get(String name);
    }

    private static DecoderWeights assemble(GPTConfig c, Matrices m, Vectors v, boolean untiedHead, AutoCloseable owner) {
        int e = c.embDim();
        WeightMatrix wte = m.get("wte.weight", e, c.vocabSize());
        WeightMatrix wpe = m.get("wpe.weight", e, c.contextLength());
        List<Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            String p = "h." + l + ".";
            float[] qkvBias = c.qkvBias() ? vector(v, p + "attn.c_attn.bias", 3 * e) : null;
            blocks.add(new Block(vector(v, p + "ln_1.weight", e), vector(v, p + "ln_1.bias", e),
                    m.get(p + "attn.c_attn.weight", e, 3 * e), qkvBias,
                    m.get(p + "attn.c_proj.weight", e, e), vector(v, p + "attn.c_proj.bias", e),
                    vector(v, p + "ln_2.weight", e), vector(v, p + "ln_2.bias", e),
                    m.get(p + "mlp.c_fc.weight", e, 4 * e), vector(v, p + "mlp.c_fc.bias", 4 * e),
                    m.get(p + "mlp.c_proj.weight", 4 * e, e), vector(v, p + "mlp.c_proj.bias", e)));
        }
        WeightMatrix head = untiedHead ? m.get("lm_head.weight", e, c.vocabSize()) : wte;
        return new DecoderWeights(c.withTiedHead(!untiedHead), wte, wpe, blocks, vector(v, "ln_f.weight", e),
                vector(v, "ln_f.bias", e), head, owner);
    }

    private static float[] vector(Vectors v, String name, int length) {
        float[] x = v.get(name);
        if (x.length != length) {
            throw new JgptException("tensor '" + name + "' has " + x.length + " elements, the config needs " + length);
        }
        return x;
    }

    private static HostTensor require(Map<String, HostTensor> t, String name, String source) {
        HostTensor h = t.get(name);
        if (h == null) throw new JgptException(source + ": tensor '" + name + "' is missing");
        return h;
    }
}
