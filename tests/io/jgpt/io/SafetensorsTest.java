package io.jgpt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReadsBack() {
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        tensors.put("b", new HostTensor(new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, -6.5f}));
        tensors.put("a", new HostTensor(new int[] {1}, new float[] {Float.MIN_VALUE}));
        tensors.put("empty", new HostTensor(new int[] {0, 4}, new float[0]));
        tensors.put("scalar", new HostTensor(new int[0], new float[] {3}));
        Path path = dir.resolve("t.safetensors");
        Safetensors.write(path, tensors, Map.of("format", "pt"));
        try (SafetensorsFile file = Safetensors.open(path)) {
            assertEquals(List.of("a", "b", "empty", "scalar"), file.names());
            assertArrayEquals(new int[] {2, 3}, file.shape("b"));
            assertArrayEquals(tensors.get("b").data(), file.readFloats("b"));
            assertArrayEquals(new float[] {Float.MIN_VALUE}, file.readFloats("a"));
            assertArrayEquals(new float[0], file.readFloats("empty"));
            assertArrayEquals(new float[] {3}, file.readFloats("scalar"));
            assertEquals(Map.of("format", "pt"), file.metadata());
            assertEquals(Dtype.F32, file.dtype("a"));
            JgptException e = assertThrows(JgptException.class, () -> file.readFloats("nope"));
            assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains("t.safetensors"), e.getMessage());
        }
        assertEquals(1, dir.toFile().list().length, "no temporary file is left behind");
    }

    /**
     * BF16 matrices: two bytes per element, rounded to nearest even (ties to even, NaN kept), read back as
     * floats; a vector beside them stays F32.
     */
    @Test
    void writesBf16RoundedToNearestEven() {
        float tie = Float.intBitsToFloat(0x3f808000), above = Float.intBitsToFloat(0x3f808001);
        float[] values = {1f, tie, above, -2.75f, Float.NaN, Float.NEGATIVE_INFINITY, 1e-40f};
        Path path = dir.resolve("h.safetensors");
        float[] bias = {tie, 3f};
        Safetensors.write(path, Map.of("w", new HostTensor(new int[] {1, values.length}, values),
                "b", new HostTensor(new int[] {2}, bias)), Map.of(), Dtype.BF16);
        try (SafetensorsFile file = Safetensors.open(path)) {
            assertEquals(Dtype.BF16, file.dtype("w"));
            assertEquals(Dtype.F32, file.dtype("b"));
            assertArrayEquals(bias, file.readFloats("b"), "vectors keep every bit");
            float[] back = file.readFloats("w");
            float[] expected = values.clone();
            io.jgpt.tensor.Bf16.round(expected);
            assertArrayEquals(expected, back);
            assertEquals(1f, back[1], "a tie goes to the even neighbour");
            assertEquals(Float.intBitsToFloat(0x3f810000), back[2], "above the tie rounds up");
        }
        assertEquals(8 + headerBytes(path) + 2L * values.length + 4L * bias.length, path.toFile().length());
    }

    private static long headerBytes(Path path) {
        try (var in = Files.newInputStream(path)) {
            return ByteBuffer.wrap(in.readNBytes(8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void headerIsPaddedWithSpacesToEightBytes() throws IOException {
        Path path = dir.resolve("t.safetensors");
        Safetensors.write(path, Map.of("x", new HostTensor(new int[] {1}, new float[] {1})), Map.of());
        byte[] bytes = Files.readAllBytes(path);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", header.strip());
        assertEquals(8 + n + 4, bytes.length);
    }

    @Test
    void readsF16AndBf16AsFloats() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-0.25f)).putShort(Float.floatToFloat16(65504f));
        data.putShort((short) (Float.floatToIntBits(3.0f) >>> 16)).putShort((short) (Float.floatToIntBits(-1e30f) >>> 16))
                .putShort((short) 0x7F80);
        Path path = file("{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[6,12]}}", data.array());
        try (SafetensorsFile file = Safetensors.open(path)) {
            assertArrayEquals(new float[] {1.5f, -0.25f, 65504f}, file.readFloats("h"));
            float[] b = file.readFloats("b");
            assertEquals(3.0f, b[0]);
            assertEquals(Float.intBitsToFloat(Float.floatToIntBits(-1e30f) & 0xFFFF0000), b[1]);
            assertEquals(Float.POSITIVE_INFINITY, b[2]);
        }
    }

    @Test
    void rejectsBadHeadersNamingFileAndTensor() throws IOException {
        byte[] four = new byte[4];
        assertError(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", four), "'w'", "needs 8 bytes");
        assertError(file("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "'w'", "unknown dtype");
        assertError(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", four), "'w'", "outside");
        assertError(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", four), "'w'", "bad dimension");
        assertError(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", four), "'w'", "outside");
        assertError(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", four), "'w'", "data_offsets");
        assertError(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"v\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "overlap", "'v'");
        assertError(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "not valid JSON", "w");
        assertError(file("{\"w\":", four), "not valid JSON", "t.safetensors");
        assertError(file("[1, 2]", four), "not a JSON object", "t.safetensors");
        assertError(file("{} {}", four), "not valid JSON", "t.safetensors");
        assertError(file("{\"__metadata__\":{\"a\":1}}", four), "metadata", "'a'");
        assertError(raw(new byte[] {1, 2, 3}), "no header length", "t.safetensors");
        assertError(raw(lengthPrefix(1L << 40)), "header length", "t.safetensors");
        assertError(raw(lengthPrefix(-1)), "header length 18446744073709551615", "t.safetensors");
    }

    @Test
    void refusesIntegerTensorsAsFloats() throws IOException {
        Path path = file("{\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
        try (SafetensorsFile file = Safetensors.open(path)) {
            JgptException e = assertThrows(JgptException.class, () -> file.readFloats("i"));
            assertTrue(e.getMessage().contains("'i'") && e.getMessage().contains("I64"), e.getMessage());
        }
    }

    private static void assertError(Path path, String... parts) {
        JgptException e = assertThrows(JgptException.class, () -> Safetensors.open(path).close());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), e.getMessage());
        }
        assertTrue(e.getMessage().contains(path.getFileName().toString()), e.getMessage());
    }

    private Path file(String header, byte[] data) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(lengthPrefix(json.length));
        out.write(json);
        out.write(data);
        return raw(out.toByteArray());
    }

    private Path raw(byte[] bytes) throws IOException {
        Path path = dir.resolve("t.safetensors");
        Files.write(path, bytes);
        return path;
    }

    static byte[] lengthPrefix(long n) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array();
    }
}
