package io.jgpt.io;

import io.jgpt.model.GPTConfig;
import io.jgpt.JgptException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * llm.c's {@code gpt2_*.bin} model files: a header of 256 little-endian int32 (magic, version, maxT, V, L, NH, C,
 * padded V), then all parameters as float32 (version 3) or bfloat16 (version 5), each kind stacked over the
 * layers: wte (Vp, C), wpe (maxT, C), then ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb,
 * fcprojw, fcprojb each (L, ...), then lnfw, lnfb. Linear weights are (out, in), as in jgpt. The head is always
 * tied to wte.
 */
public final class LlmcCheckpoint {
    public static final int MAGIC = 20240326;
    public static final int VERSION_FP32 = 3;
    public static final int VERSION_BF16 = 5;
    private static final int HEADER_INTS = 256;
    private static final int HEADER_BYTES = 4 * HEADER_INTS;
    /** llm.c pads the vocabulary to a multiple of 128 for faster matmuls. */
    private static final int VOCAB_PADDING = 128;

    private LlmcCheckpoint() {}

    /**
     * Reads a model file. The padded vocabulary rows beyond V are dropped; all-zero qkv biases mean the model has
     * none (what {@link #write} stores for such a model). llm.c has no dropout setting, so the drop rate is 0.
     */
    public static ModelWeights read(Path path) {
        try (MappedFile file = MappedFile.open(path)) {
            int[] h = file.intHeader(HEADER_INTS, "llm.c checkpoint");
            if (h[0] != MAGIC) {
                throw new JgptException(path + ": not an llm.c model file (magic " + h[0] + ", expected " + MAGIC + ")");
            }
            if (h[1] != VERSION_FP32 && h[1] != VERSION_BF16) {
                throw new JgptException(path + ": unsupported llm.c model version " + h[1] + " (3 = fp32, 5 = bf16)");
            }
            int maxT = h[2], vocab = h[3], layers = h[4], heads = h[5], channels = h[6], padded = h[7];
            if (maxT < 1 || vocab < 1 || layers < 1 || heads < 1 || channels < 1 || padded < vocab) {
                throw new JgptException(path + ": bad llm.c header: maxT " + maxT + ", V " + vocab + ", L " + layers
                        + ", NH " + heads + ", C " + channels + ", Vp " + padded);
            }
            if (channels % heads != 0) {
                throw new JgptException(path + ": channels " + channels + " not divisible by " + heads + " heads");
            }
            int elementBytes = h[1] == VERSION_FP32 ? 4 : 2;
            long expected;
            try {
                expected = Math.addExact(HEADER_BYTES, Math.multiplyExact(elementBytes,
                        parameterCount(padded, maxT, layers, channels)));
            } catch (ArithmeticException e) {
                throw new JgptException(path + ": llm.c header sizes overflow: maxT " + maxT + ", Vp " + padded
                        + ", L " + layers + ", C " + channels);
            }
            if (expected != file.size()) {
                throw new JgptException(path + ": llm.c model file should have " + expected + " bytes, has "
                        + file.size());
            }
            GPTConfig shape = new GPTConfig(vocab, maxT, channels, heads, layers, 0f, true, true);
            Map<String, HostTensor> tensors = new Reader(file, elementBytes).read(shape, padded);
            boolean qkvBias = false;
            for (int i = 0; i < layers; i++) {
                qkvBias |= !tensors.get("h." + i + ".attn.c_attn.bias").isAllZero();
            }
            if (!qkvBias) {
                tensors.keySet().removeIf(n -> n.endsWith(".attn.c_attn.bias"));
            }
            return new ModelWeights(shape.withQkvBias(qkvBias), tensors);
        }
    }

    public static void write(Path path, ModelWeights weights) {
        write(path, weights, "the model");
    }

    /**
     * Writes a version 3 (fp32) file atomically; a model without qkv bias gets zero biases.
     *
     * @param source what the weights were read from, for the message when they cannot be written
     */
    public static void write(Path path, ModelWeights weights, String source) {
        GPTConfig s = weights.shape();
        if (!s.tiedHead()) {
            throw new JgptException(source + " has an untied output head (its own lm_head); llm.c's format holds only"
                    + " models whose head is the token embedding (gpt2-* presets), so it cannot be converted to " + path);
        }
        Gpt2Parameters.validate(s, weights.tensors(), path.toString());
        int c = s.embDim();
        int padded = (s.vocabSize() + VOCAB_PADDING - 1) / VOCAB_PADDING * VOCAB_PADDING;
        AtomicWrite.write(path, channel -> {
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(MAGIC).putInt(VERSION_FP32).putInt(s.contextLength()).putInt(s.vocabSize())
                    .putInt(s.nLayers()).putInt(s.nHeads()).putInt(c).putInt(padded).rewind();
            FloatWriter out = new FloatWriter(channel);
            out.bytes(header);
            out.floats(weights.tensors().get("wte.weight").data());
            out.zeros((long) (padded - s.vocabSize()) * c);
            out.floats(weights.tensors().get("wpe.weight").data());
            for (var e : Gpt2Parameters.layer(c, true).entrySet()) {
                for (int i = 0; i < s.nLayers(); i++) {
                    HostTensor t = weights.tensors().get("h." + i + "." + e.getKey());
                    if (t == null) {
                        out.zeros(HostTensor.elements(e.getValue()));
                    } else {
                        out.floats(t.data());
                    }
                }
            }
            out.floats(weights.tensors().get("ln_f.weight").data());
            out.floats(weights.tensors().get("ln_f.bias").data());
            out.flush();
        });
    }

    /** wte, wpe, L blocks of 12C^2 + 13C (see {@link Gpt2Parameters#layer}), and the final norm. */
    private static long parameterCount(long padded, long maxT, long layers, long c) {
        long perLayer = Math.addExact(Math.multiplyExact(12, Math.multiplyExact(c, c)), Math.multiplyExact(13, c));
        long embeddings = Math.multiplyExact(Math.addExact(padded, maxT), c);
        return Math.addExact(Math.addExact(embeddings, Math.multiplyExact(layers, perLayer)), 2 * c);
    }

    /** Walks the parameter area in file order, turning each stacked block into per-layer tensors. */
    private static final class Reader {
        private final MappedFile file;
        private final MemorySegment segment;
        private final int elementBytes;
        private long offset = HEADER_BYTES;

        Reader(MappedFile file, int elementBytes) {
            this.file = file;
            this.segment = file.segment();
            this.elementBytes = elementBytes;
        }

        Map<String, HostTensor> read(GPTConfig s, int padded) {
            int c = s.embDim();
            Map<String, HostTensor> out = new LinkedHashMap<>();
            out.put("wte.weight", next(s.vocabSize(), c));
            offset += (long) (padded - s.vocabSize()) * c * elementBytes;
            out.put("wpe.weight", next(s.contextLength(), c));
            Map<String, HostTensor> layers = new LinkedHashMap<>();
            for (var e : Gpt2Parameters.layer(c, true).entrySet()) {
                for (int i = 0; i < s.nLayers(); i++) {
                    layers.put("h." + i + "." + e.getKey(), next(e.getValue()));
                }
            }
            // Re-ordered block by block, as the names of a model are listed everywhere else.
            for (int i = 0; i < s.nLayers(); i++) {
                for (String suffix : Gpt2Parameters.layer(c, true).keySet()) {
                    out.put("h." + i + "." + suffix, layers.get("h." + i + "." + suffix));
                }
            }
            out.put("ln_f.weight", next(c));
            out.put("ln_f.bias", next(c));
            return out;
        }

        private HostTensor next(int... shape) {
            long count = HostTensor.elements(shape);
            if (count > Integer.MAX_VALUE - 8) {
                throw new JgptException(file.path() + ": tensor of shape " + Arrays.toString(shape)
                        + " is larger than one Java array");
            }
            float[] data = new float[(int) count];
            MemorySegment slice = segment.asSlice(offset, count * elementBytes);
            if (elementBytes == 4) {
                MemorySegment.copy(slice, MappedFile.FLOAT_LE, 0, data, 0, data.length);
            } else {
                HalfFloats.widen(slice, data, true);
            }
            offset += count * elementBytes;
            return new HostTensor(shape, data);
        }
    }

    /** Buffered little-endian float output. */
    private static final class FloatWriter {
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);

        FloatWriter(FileChannel channel) {
            this.channel = channel;
        }

        void bytes(ByteBuffer bytes) throws IOException {
            flush();
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        }

        void floats(float[] data) throws IOException {
            for (float v : data) {
                if (!buffer.hasRemaining()) {
                    flush();
                }
                buffer.putFloat(v);
            }
        }

        void zeros(long count) throws IOException {
            for (long i = 0; i < count; i++) {
                if (!buffer.hasRemaining()) {
                    flush();
                }
                buffer.putFloat(0f);
            }
        }

        void flush() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            buffer.clear();
        }
    }
}
