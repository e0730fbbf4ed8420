package io.jgpt.io;

import io.jgpt.model.GPTConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LlmcCheckpointTest {
    /** Parameters of the tiny model: (Vp 128 + maxT 4) * C 4 + L 2 * (12 C^2 + 13 C) + 2 C. */
    private static final int PARAMS = (128 + 4) * 4 + 2 * (12 * 16 + 13 * 4) + 2 * 4;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void writesAndReadsBack(boolean qkvBias) throws IOException {
        ModelWeights weights = TinyModels.weights(TinyModels.shape(qkvBias, true), 1);
        Path path = dir.resolve("gpt2_tiny.bin");
        LlmcCheckpoint.write(path, weights);
        assertEquals(1024 + 4L * PARAMS, Files.size(path));
        ModelWeights loaded = LlmcCheckpoint.read(path);
        // llm.c files carry no drop rate.
        assertEquals(new GPTConfig(10, 4, 4, 2, 2, 0f, qkvBias, true), loaded.shape());
        TinyModels.assertSameTensors(weights.tensors(), loaded.tensors());
    }

    @Test
    void headerAndStackedLayoutFollowLlmc() throws IOException {
        ModelWeights weights = TinyModels.weights(TinyModels.shape(true, true), 2);
        Path path = dir.resolve("m.bin");
        LlmcCheckpoint.write(path, weights);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        int[] header = new int[8];
        for (int i = 0; i < 8; i++) {
            header[i] = b.getInt(4 * i);
        }
        assertEquals("[20240326, 3, 4, 10, 2, 2, 4, 128]", Arrays.toString(header));
        // After wte (128 x 4 padded) and wpe (4 x 4) comes ln1w for layer 0 then layer 1.
        int ln1w = 1024 + 4 * (128 * 4 + 4 * 4);
        assertEquals(weights.tensors().get("h.1.ln_1.weight").data()[0], b.getFloat(ln1w + 4 * 4));
        // Padded vocabulary rows are zero.
        assertEquals(0f, b.getFloat(1024 + 4 * (10 * 4)));
        // qkvw follows ln1w (L*C) and ln1b (L*C); layer 1's block starts 3C*C floats later, rows are outputs.
        int qkvw = ln1w + 4 * (2 * 4 + 2 * 4);
        assertEquals(weights.tensors().get("h.1.attn.c_attn.weight").data()[5 * 4 + 3],
                b.getFloat(qkvw + 4 * (12 * 4 + 5 * 4 + 3)));
    }

    @Test
    void readsBfloat16Files() throws IOException {
        ModelWeights weights = TinyModels.weights(TinyModels.shape(true, true), 3);
        Path fp32 = dir.resolve("fp32.bin");
        LlmcCheckpoint.write(fp32, weights);
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(fp32)).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(1024 + 2 * PARAMS).order(ByteOrder.LITTLE_ENDIAN);
        out.put(in.array(), 0, 1024).putInt(4, LlmcCheckpoint.VERSION_BF16);
        for (int i = 0; i < PARAMS; i++) {
            out.putShort(1024 + 2 * i, (short) (Float.floatToIntBits(in.getFloat(1024 + 4 * i)) >>> 16));
        }
        Path bf16 = dir.resolve("bf16.bin");
        Files.write(bf16, out.array());
        TinyModels.assertSameTensors(weights.tensors(), LlmcCheckpoint.read(bf16).tensors());
    }

    @Test
    void truncatedFileNamesExpectedAndActualBytes() throws IOException {
        Path path = dir.resolve("m.bin");
        LlmcCheckpoint.write(path, TinyModels.weights(TinyModels.shape(true, true), 4));
        byte[] bytes = Files.readAllBytes(path);
        Files.write(path, Arrays.copyOf(bytes, bytes.length - 3));
        JgptException e = assertThrows(JgptException.class, () -> LlmcCheckpoint.read(path));
        assertTrue(e.getMessage().contains("m.bin") && e.getMessage().contains(String.valueOf(bytes.length))
                && e.getMessage().contains(String.valueOf(bytes.length - 3)), e.getMessage());
    }

    @Test
    void badHeadersAreNamed() throws IOException {
        Path path = dir.resolve("m.bin");
        LlmcCheckpoint.write(path, TinyModels.weights(TinyModels.shape(true, true), 5));
        byte[] good = Files.readAllBytes(path);
        assertError(path, withInt(good, 0, 7), "magic 7");
        assertError(path, withInt(good, 4, 4), "version 4");
        assertError(path, withInt(good, 20, 3), "not divisible");
        assertError(path, withInt(good, 28, 9), "Vp 9");
        assertError(path, withInt(good, 24, 1 << 20), "should have");
        assertError(path, withInt(good, 24, 1 << 30), "overflow");
        assertError(path, new byte[100], "too short");
    }

    @Test
    void untiedModelsCannotBeWritten() {
        JgptException e = assertThrows(JgptException.class, () -> LlmcCheckpoint.write(dir.resolve("m.bin"),
                TinyModels.weights(TinyModels.shape(true, false), 6)));
        assertTrue(e.getMessage().contains("lm_head"), e.getMessage());
    }

    private static void assertError(Path path, byte[] bytes, String part) throws IOException {
        Files.write(path, bytes);
        JgptException e = assertThrows(JgptException.class, () -> LlmcCheckpoint.read(path));
        assertTrue(e.getMessage().contains(part) && e.getMessage().contains("m.bin"), e.getMessage());
    }

    private static byte[] withInt(byte[] bytes, int offset, int value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return copy;
    }
}
