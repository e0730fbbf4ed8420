package io.jgpt.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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

    /**
     * Writes the tensors as F32, atomically. Tensors are laid out in name order so that the same weights always
     * give the same bytes; the header is padded with spaces to a multiple of 8 so the data is aligned.
     */
    public static void write(Path path, Map<String, HostTensor> tensors, Map<String, String> metadata) {
        Map<String, HostTensor> sorted = new TreeMap<>(tensors);
        if (sorted.containsKey(SafetensorsFile.METADATA_KEY)) {
            throw new JgptException(path + ": '" + SafetensorsFile.METADATA_KEY + "' cannot name a tensor");
        }
        byte[] header = header(path, sorted, metadata);
        AtomicWrite.write(path, channel -> {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            writeFully(channel, length);
            writeFully(channel, ByteBuffer.wrap(header));
            ByteBuffer buffer = ByteBuffer.allocate(4 * WRITE_CHUNK_FLOATS).order(ByteOrder.LITTLE_ENDIAN);
            for (HostTensor t : sorted.values()) {
                float[] data = t.data();
                for (int from = 0; from < data.length; from += WRITE_CHUNK_FLOATS) {
                    int n = Math.min(WRITE_CHUNK_FLOATS, data.length - from);
                    buffer.clear();
                    buffer.asFloatBuffer().put(data, from, n);
                    buffer.limit(4 * n);
                    writeFully(channel, buffer);
                }
            }
        });
    }

    private static byte[] header(Path path, Map<String, HostTensor> tensors, Map<String, String> metadata) {
        Map<String, Object> json = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            json.put(SafetensorsFile.METADATA_KEY, new TreeMap<>(metadata));
        }
        long offset = 0;
        for (var e : tensors.entrySet()) {
            long end = offset + 4L * e.getValue().data().length;
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", Dtype.F32.name());
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
