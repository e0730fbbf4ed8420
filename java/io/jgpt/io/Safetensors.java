package io.jgpt.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import io.jgpt.tensor.Bf16;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Reading and writing safetensors files (see {@link SafetensorsFile} for the layout). */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int WRITE_CHUNK_FLOATS = 1 << 18;

    private Safetensors() {}

    public static SafetensorsFile open(Path path) {
        return SafetensorsFile.open(path);
    }

    /** Every tensor of the file as floats, in header order. */
    public static Map<String, HostTensor> readAll(Path path) {
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            Map<String, HostTensor> out = new LinkedHashMap<>();
            for (String name : file.names()) {
                out.put(name, file.read(name));
            }
            return out;
        }
    }

    /** Writes the tensors as F32, atomically; see {@link #write(Path, Map, Map, Dtype)}. */
    public static void write(Path path, Map<String, HostTensor> tensors, Map<String, String> metadata) {
        write(path, tensors, metadata, Dtype.F32);
    }

    /**
     * Writes the tensors atomically, those of two or more dimensions as {@code matrices} (F32, or BF16 rounded
     * to nearest even) and the others (biases, LayerNorm parameters: few bytes, and what bf16 inference keeps in
     * fp32) as F32. Tensors are laid out in name order so that the same weights always give the same bytes; the
     * header is padded with spaces to a multiple of 8 so the data is aligned.
     */
    public static void write(Path path, Map<String, HostTensor> tensors, Map<String, String> metadata, Dtype matrices) {
        if (matrices != Dtype.F32 && matrices != Dtype.BF16)
            throw new IllegalArgumentException("safetensors are written as F32 or BF16, not " + matrices);
        Map<String, HostTensor> sorted = new TreeMap<>(tensors);
        if (sorted.containsKey(SafetensorsFile.METADATA_KEY)) {
            throw new JgptException(path + ": '" + SafetensorsFile.METADATA_KEY + "' cannot name a tensor");
        }
        byte[] header = header(path, sorted, metadata, matrices);
        AtomicWrite.write(path, channel -> {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            writeFully(channel, length);
            writeFully(channel, ByteBuffer.wrap(header));
            ByteBuffer buffer = ByteBuffer.allocate(4 * WRITE_CHUNK_FLOATS).order(ByteOrder.LITTLE_ENDIAN);
            for (HostTensor t : sorted.values()) {
                float[] data = t.data();
                Dtype dtype = dtype(t, matrices);
                for (int from = 0; from < data.length; from += WRITE_CHUNK_FLOATS) {
                    int n = Math.min(WRITE_CHUNK_FLOATS, data.length - from);
                    buffer.clear();
                    if (dtype == Dtype.F32) {
                        buffer.asFloatBuffer().put(data, from, n);
                    } else {
                        ShortBuffer bits = buffer.asShortBuffer();
                        for (int i = 0; i < n; i++) bits.put(Bf16.fromFloat(data[from + i]));
                    }
                    buffer.limit(dtype.bytes() * n);
                    writeFully(channel, buffer);
                }
            }
        });
    }

    /** How a tensor is stored: matrices as asked, vectors and scalars as F32. */
    private static Dtype dtype(HostTensor t, Dtype matrices) {
        return t.shape().length >= 2 ? matrices : Dtype.F32;
    }

    private static byte[] header(Path path, Map<String, HostTensor> tensors, Map<String, String> metadata, Dtype matrices) {
        Map<String, Object> json = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            json.put(SafetensorsFile.METADATA_KEY, new TreeMap<>(metadata));
        }
        long offset = 0;
        for (var e : tensors.entrySet()) {
            Dtype dtype = dtype(e.getValue(), matrices);
            long end = offset + (long) dtype.bytes() * e.getValue().data().length;
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", dtype.name());
            entry.put("shape", e.getValue().shape());
            entry.put("data_offsets", List.of(offset, end));
            json.put(e.getKey(), entry);
            offset = end;
        }
        byte[] raw;
        try {
            raw = JSON.writeValueAsString(json).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new JgptException("cannot write " + path + ": " + e.getOriginalMessage(), e);
        }
        byte[] padded = new byte[(raw.length + 7) / 8 * 8];
        Arrays.fill(padded, (byte) ' ');
        System.arraycopy(raw, 0, padded, 0, raw.length);
        return padded;
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
