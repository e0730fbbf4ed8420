package io.jgpt.io;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.jgpt.Fuzz;
import io.jgpt.JgptException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damaged safetensors and llm.c files either load or fail with JgptException, quickly and in bounded memory. */
class ReaderFuzzTest {
    private static final long SEED = 20240520;
    private static final Pattern NUMBER = Pattern.compile("-?\\d+");
    private static final String[] NUMBERS = {"-1", "0", "3", "4294967296", "9223372036854775807",
            "99999999999999999999", "1e3", "1.5", "null", "[]", "\"8\""};
    private static final String[] DTYPES = {"F32", "F16", "BF16", "I64", "BOOL", "F8_E4M3", "Q4", "", "f32"};

    @TempDir
    Path dir;

    @Test
    void safetensors() throws IOException {
        Path valid = dir.resolve("valid.safetensors");
        ModelWeights w = TinyModels.weights(TinyModels.shape(true, false), 1);
        Safetensors.write(valid, w.tensors(), Map.of("format", "pt"));
        byte[] good = Files.readAllBytes(valid);
        Path path = dir.resolve("fuzz.safetensors");
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            SplittableRandom random = new SplittableRandom(SEED);
            for (int i = 0; i < 3000; i++) {
                StringBuilder how = new StringBuilder();
                byte[] bytes = random.nextBoolean() ? Fuzz.mutate(good, random, how) : mutateHeader(good, random, how);
                Files.write(path, bytes);
                Fuzz.check("safetensors seed " + SEED + " case " + i + " (" + how + ")", bytes.length, () -> {
                    try (SafetensorsFile file = Safetensors.open(path)) {
                        for (String name : file.names()) {
                            file.readFloats(name);
                        }
                    }
                });
            }
        });
    }

    @Test
    void llmcCheckpoints() throws IOException {
        Path valid = dir.resolve("valid.bin");
        LlmcCheckpoint.write(valid, TinyModels.weights(TinyModels.shape(true, true), 2));
        byte[] good = Files.readAllBytes(valid);
        Path path = dir.resolve("fuzz.bin");
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            SplittableRandom random = new SplittableRandom(SEED);
            for (int i = 0; i < 2000; i++) {
                StringBuilder how = new StringBuilder();
                byte[] bytes = Fuzz.mutate(good, random, how);
                Files.write(path, bytes);
                Fuzz.check("llm.c seed " + SEED + " case " + i + " (" + how + ")", bytes.length,
                        () -> LlmcCheckpoint.read(path));
            }
        });
    }

    @Test
    void randomBytes() throws IOException {
        Path path = dir.resolve("random.bin");
        warmUp(path);
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = 0; i < 1000; i++) {
            byte[] bytes = new byte[random.nextInt(2048)];
            random.nextBytes(bytes);
            if (bytes.length >= 8 && random.nextBoolean()) {
                // A plausible header length, so the JSON parser sees the bytes.
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, random.nextInt(bytes.length - 7));
            }
            Files.write(path, bytes);
            Fuzz.check("random case " + i, bytes.length, () -> Safetensors.readAll(path));
            Fuzz.check("random case " + i, bytes.length, () -> LlmcCheckpoint.read(path));
        }
    }

    /** Loads the readers' classes (the JSON parser's are megabytes) so that they do not count as allocation. */
    private static void warmUp(Path path) {
        Safetensors.write(path, Map.of("x", HostTensor.zeros(2)), Map.of());
        Safetensors.readAll(path);
        LlmcCheckpoint.write(path, TinyModels.weights(TinyModels.shape(true, true), 3));
        LlmcCheckpoint.read(path);
        for (String json : new String[] {"{\"x\":", "[1]", "{} {}", "{\"a\":1,\"a\":2}", "\u00ff"}) {
            byte[] bytes = json.getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer b = ByteBuffer.allocate(8 + bytes.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(bytes.length).put(bytes);
            try {
                Files.write(path, b.array());
                Safetensors.readAll(path);
            } catch (JgptException | IOException expected) {
                // Only the classes on the error paths matter here.
            }
        }
    }

    /** Rewrites one number or dtype of the JSON header, keeping the length prefix consistent. */
    private static byte[] mutateHeader(byte[] good, SplittableRandom random, StringBuilder how) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) b.getLong(0);
        String header = new String(good, 8, n, StandardCharsets.UTF_8);
        String mutated;
        if (random.nextInt(4) == 0) {
            String dtype = DTYPES[random.nextInt(DTYPES.length)];
            int at = nth(header, "\"F32\"", random);
            mutated = header.substring(0, at) + "\"" + dtype + "\"" + header.substring(at + 5);
            how.append("dtype ").append(dtype);
        } else {
            Matcher m = NUMBER.matcher(header);
            int count = (int) m.results().count();
            m.reset();
            for (int k = random.nextInt(count); k >= 0; k--) {
                m.find();
            }
            String value = NUMBERS[random.nextInt(NUMBERS.length)];
            mutated = header.substring(0, m.start()) + value + header.substring(m.end());
            how.append("number at ").append(m.start()).append(" = ").append(value);
        }
        byte[] json = mutated.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
        out.write(json);
        out.write(good, 8 + n, good.length - 8 - n);
        return out.toByteArray();
    }

    private static int nth(String text, String needle, SplittableRandom random) {
        int count = text.split(Pattern.quote(needle), -1).length - 1;
        int at = -1;
        for (int k = random.nextInt(count); k >= 0; k--) {
            at = text.indexOf(needle, at + 1);
        }
        return at;
    }
}
