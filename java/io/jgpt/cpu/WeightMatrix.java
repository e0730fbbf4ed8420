package io.jgpt.cpu;

import io.jgpt.tensor.Bf16;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * A weight matrix as inference streams it: {@code in x out} numbers in a memory segment (a mapped
 * safetensors file, native memory or a wrapped Java array), float32 or bfloat16, little-endian, in whichever
 * orientation its source stored it. Both orientations have a kernel in {@link MatVec}, so a mapped file is
 * used in place and nothing is transposed at load.
 */
public final class WeightMatrix {

    /** How the segment's rows relate to the layer. */
    public enum Layout {
        /** (out, in): row o holds output o's weights, like {@code nn.Linear} and jgpt's own tensors. */
        ROWS_ARE_OUTPUTS,
        /** (in, out): row i holds input i's weights, like Hugging Face's Conv1D. */
        ROWS_ARE_INPUTS,
        /**
         * (out / P, in, P) with P = {@link #panelWidth()}: panel p holds outputs [p·P, p·P + P) of every input,
         * input by input, so one panel is one contiguous stream. Made from a ROWS_ARE_INPUTS matrix by {@link
         * PanelPacking}, never stored in a file (P depends on the CPU's vector length).
         */
        PANELS
    }

    /** Element type of the stored numbers; arithmetic is float32 either way. */
    public enum Type {
        F32(4), BF16(2);

        private final int bytes;

        Type(int bytes) {
            this.bytes = bytes;
        }

        public int bytes() {
            return bytes;
        }
    }

    static final VectorSpecies<Float> S = Simd.S;
    /** As many shorts as S has floats: one bf16 load widens to one float vector. */
    private static final VectorSpecies<Short> HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(S.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private final MemorySegment data;
    private final int in;
    private final int out;
    private final Layout layout;
    private final Type type;
    /** A copy of this matrix that {@link MatVec} streams faster to the same bits; set at most once, at any time. */
    private volatile WeightMatrix panels;

    public WeightMatrix(MemorySegment data, int in, int out, Layout layout, Type type) {
        if (in <= 0 || out <= 0) throw new IllegalArgumentException("matrix dimensions must be positive: " + in + " x " + out);
        if (data.byteSize() != (long) in * out * type.bytes()) {
            throw new IllegalArgumentException("a " + in + " x " + out + " " + type + " matrix needs "
                    + (long) in * out * type.bytes() + " bytes, the segment has " + data.byteSize());
        }
        if (layout == Layout.PANELS && !wholePanelPairs(out)) {
            throw new IllegalArgumentException("a panel matrix needs out (" + out + ") to be a multiple of " + 2 * panelWidth());
        }
        this.data = data;
        this.in = in;
        this.out = out;
        this.layout = layout;
        this.type = type;
    }

    /** Wraps (does not copy) a row-major float array of {@code rows x cols}. */
    public static WeightMatrix ofArray(float[] values, int in, int out, Layout layout) {
        return new WeightMatrix(MemorySegment.ofArray(values), in, out, layout, Type.F32);
    }

    public int in() {
        return in;
    }

    public int out() {
        return out;
    }

    public Layout layout() {
        return layout;
    }

    public Type type() {
        return type;
    }

    /** Outputs per panel of a {@link Layout#PANELS} matrix: two vectors, which the kernel sums side by side. */
    public static int panelWidth() {
        return 2 * S.length();
    }

    /** Whether {@link PanelPacking} can make a panel copy: an (in, out) matrix whose outputs fill whole pairs of panels. */
    public boolean packable() {
        return layout == Layout.ROWS_ARE_INPUTS && wholePanelPairs(out);
    }

    /** Where element (input i, output o) of an (in, out) matrix lies in its {@link Layout#PANELS} copy. */
    public static long panelIndex(int in, int i, int o) {
        int p = panelWidth();
        return ((long) (o / p) * in + i) * p + o % p;
    }

    /** Whether {@code out} outputs fill whole pairs of panels: the single-row panel kernel streams them two at a time. */
    public static boolean wholePanelPairs(int out) {
        return out % (2 * panelWidth()) == 0;
    }

    /** The matrix the kernels stream: the panel copy once one is set, else this one. */
    WeightMatrix streamed() {
        WeightMatrix p = panels;
        return p != null ? p : this;
    }

    /**
     * Hands over a panel copy of this matrix; from then on products stream it instead. Safe while products
     * run, because the panel kernel adds the same products in the same order as the in-place one.
     */
    void usePanels(WeightMatrix copy) {
        if (!packable() || copy.layout != Layout.PANELS || copy.in != in || copy.out != out || copy.type != type) {
            throw new IllegalArgumentException("not a panel copy of this " + layout + " " + in + " x " + out + " matrix");
        }
        panels = copy;
    }

    /** The memory behind the stored elements (for packing and for giving a mapped file's pages back). */
    MemorySegment data() {
        return data;
    }

    /** Bytes a pass over the whole matrix reads. */
    public long bytes() {
        return data.byteSize();
    }

    /**
     * A small matrix made of this one's first {@code in x out} stored elements, in the same kind of memory
     * (for warming up the kernels; its numbers mean nothing).
     */
    public WeightMatrix corner(int in, int out) {
        return new WeightMatrix(data.asSlice(0, (long) in * out * type.bytes()), in, out, layout, type);
    }

    /** Whether the matrix is read in place from a mapped file. */
    public boolean isMapped() {
        return data.isMapped();
    }

    /** The class of memory behind the matrix (mapped file, native, heap array), which the JIT specialises on. */
    public String segmentKind() {
        return data.getClass().getSimpleName();
    }

    int rowLength() {
        return switch (layout) {
            case ROWS_ARE_OUTPUTS -> in;
            case ROWS_ARE_INPUTS -> out;
            case PANELS -> throw new IllegalStateException("a panel matrix has no rows");
        };
    }

    /** Copies stored row {@code r} (widened to float) into dst[off, off + rowLength). */
    void row(int r, float[] dst, int off) {
        int n = rowLength();
        long first = (long) r * n;
        if (type == Type.F32) {
            MemorySegment.copy(data, FLOAT_LE, 4 * first, dst, off, n);
        } else {
            for (int i = 0; i < n; i++) dst[off + i] = Bf16.toFloat(data.get(SHORT_LE, 2 * (first + i)));
        }
    }

    /** Stored elements [e, e + S.length()) widened to a float vector. */
    FloatVector load(long e) {
        if (type == Type.F32) return FloatVector.fromMemorySegment(S, data, 4 * e, LE);
        ShortVector raw = ShortVector.fromMemorySegment(HALF, data, 2 * e, LE);
        return ((IntVector) raw.convertShape(VectorOperators.S2I, INTS, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Stored element e widened to float. */
    float get(long e) {
        return type == Type.F32 ? data.get(FLOAT_LE, 4 * e) : Bf16.toFloat(data.get(SHORT_LE, 2 * e));
    }
}
