package io.jgpt.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.jgpt.JgptException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file opened for reading: the header is parsed and checked up front, the data stays mapped and is
 * read tensor by tensor. Layout: an 8-byte little-endian header length N, N bytes of JSON
 * {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}}, then the data, with offsets
 * relative to its start.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The reference implementation's cap; it also bounds what a corrupt length field can make us allocate. */
    static final long MAX_HEADER_BYTES = 100_000_000;
    static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** One tensor's header entry; offsets are relative to the start of the data section. */
    public record Entry(String name, Dtype dtype, int[] shape, long begin, long end) {
        public long elements() {
            return HostTensor.elements(shape);
        }
    }

    private final MappedFile file;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(MappedFile file, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.file = file;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        MappedFile file = MappedFile.open(path);
        try {
            return parse(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static SafetensorsFile parse(MappedFile file) {
        Path path = file.path();
        if (file.size() < 8) {
            throw new JgptException(path + ": not a safetensors file (" + file.size() + " bytes, no header length)");
        }
        long headerLength = file.segment().get(MappedFile.LONG_LE, 0);
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > file.size() - 8) {
            throw new JgptException(path + ": safetensors header length " + Long.toUnsignedString(headerLength)
                    + " does not fit the file (" + file.size() + " bytes, header at most " + MAX_HEADER_BYTES + ")");
        }
        byte[] headerBytes = file.segment().asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(headerBytes);
        } catch (JsonProcessingException e) {
            throw new JgptException(path + ": safetensors header is not valid JSON: "
                    + e.getOriginalMessage().lines().findFirst().orElse(""), e);
        } catch (IOException e) {
            throw new JgptException(path + ": cannot parse safetensors header: " + IoErrors.reason(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new JgptException(path + ": safetensors header is not a JSON object");
        }
        long dataStart = 8 + headerLength;
        long dataSize = file.size() - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (var field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(path, field.getValue());
            } else {
                entries.put(field.getKey(), parseEntry(path, field.getKey(), field.getValue(), dataSize));
            }
        }
        checkNoOverlap(path, entries.values());
        return new SafetensorsFile(file, dataStart, Collections.unmodifiableMap(entries), metadata);
    }

    private static Map<String, String> parseMetadata(Path path, JsonNode node) {
        if (!node.isObject()) {
            throw new JgptException(path + ": safetensors " + METADATA_KEY + " is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (var field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw new JgptException(path + ": safetensors metadata '" + field.getKey() + "' is not a string");
            }
            metadata.put(field.getKey(), field.getValue().textValue());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static Entry parseEntry(Path path, String name, JsonNode node, long dataSize) {
        String where = path + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new JgptException(where + ": header entry is not a JSON object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new JgptException(where + ": missing dtype");
        }
        Dtype dtype = Dtype.parse(dtypeNode.textValue())
                .orElseThrow(() -> new JgptException(where + ": unknown dtype '" + dtypeNode.textValue() + "'"));
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new JgptException(where + ": missing shape");
        }
        int[] shape = new int[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToInt() || d.intValue() < 0) {
                throw new JgptException(where + ": bad dimension " + d + " in shape " + shapeNode);
            }
            shape[i] = d.intValue();
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !isLong(offsets.get(0)) || !isLong(offsets.get(1))) {
            throw new JgptException(where + ": data_offsets must be two integers, got " + offsets);
        }
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        if (begin < 0 || begin > end || end > dataSize) {
            throw new JgptException(where + ": data_offsets [" + begin + ", " + end
                    + "] lie outside the data section of " + dataSize + " bytes");
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(HostTensor.elements(shape), dtype.bytes());
        } catch (ArithmeticException e) {
            throw new JgptException(where + ": shape " + Arrays.toString(shape) + " is too large");
        }
        if (bytes != end - begin) {
            throw new JgptException(where + ": shape " + Arrays.toString(shape) + " of " + dtype + " needs " + bytes
                    + " bytes, but data_offsets span " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static boolean isLong(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToLong();
    }

    private static void checkNoOverlap(Path path, Collection<Entry> all) {
        List<Entry> sorted = new ArrayList<>(all);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1);
            Entry next = sorted.get(i);
            if (next.begin() < prev.end()) {
                throw new JgptException(path + ": tensors '" + prev.name() + "' and '" + next.name()
                        + "' overlap in the data section");
            }
        }
    }

    public Path path() {
        return file.path();
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new JgptException(path() + ": no tensor '" + name + "'");
        }
        return e;
    }

    public int[] shape(String name) {
        return entry(name).shape().clone();
    }

    public Dtype dtype(String name) {
        return entry(name).dtype();
    }

    /** The tensor's stored bytes, mapped (valid until {@link #close}); nothing is copied. */
    public MemorySegment data(String name) {
        Entry e = entry(name);
        return file.segment().asSlice(dataStart + e.begin(), e.end() - e.begin());
    }

    /** The tensor's elements as floats; F16 and BF16 are widened exactly. */
    public float[] readFloats(String name) {
        Entry e = entry(name);
        if (!e.dtype().readableAsFloat()) {
            throw new JgptException(path() + ": tensor '" + name + "' has dtype " + e.dtype()
                    + "; only F32, F16 and BF16 can be read as floats");
        }
        long count = e.elements();
        if (count > Integer.MAX_VALUE - 8) {
            throw new JgptException(path() + ": tensor '" + name + "' has " + count
                    + " elements, more than one Java array holds");
        }
        float[] out = new float[(int) count];
        MemorySegment data = data(name);
        switch (e.dtype()) {
            case F32 -> MemorySegment.copy(data, MappedFile.FLOAT_LE, 0, out, 0, out.length);
            case F16 -> HalfFloats.widen(data, out, false);
            case BF16 -> HalfFloats.widen(data, out, true);
            default -> throw new IllegalStateException("unreachable: " + e.dtype());
        }
        return out;
    }

    public HostTensor read(String name) {
        return new HostTensor(shape(name), readFloats(name));
    }

    /**
     * Takes the file's pages out of this process's memory (they stay in the page cache, and fault back in if
     * read again): for a caller that has copied what it needs and keeps the file open.
     */
    public void unload() {
        file.segment().unload();
    }

    @Override
    public void close() {
        file.close();
    }
}
