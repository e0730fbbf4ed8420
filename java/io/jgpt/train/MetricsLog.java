package io.jgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import io.jgpt.io.AtomicWrite;
import io.jgpt.io.IoErrors;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Appends one JSON object per line to {@code metrics.jsonl}, flushed per line so a crash loses nothing logged.
 * Every value is a JSON number, string or boolean: a number that is not finite (a skipped step's loss) is left
 * out rather than written as the string "NaN".
 */
public final class MetricsLog implements AutoCloseable {
    public static final String FILE = "metrics.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path path;
    private final BufferedWriter out;

    private MetricsLog(Path dir) {
        path = dir.resolve(FILE);
        try {
            Files.createDirectories(dir);
            out = Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new JgptException("cannot write " + path + ": " + IoErrors.reason(e), e);
        }
    }

    /** A new log (the run directory was checked to hold no earlier run). */
    public static MetricsLog start(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(FILE));
        } catch (IOException e) {
            throw new JgptException("cannot write " + dir.resolve(FILE) + ": " + IoErrors.reason(e), e);
        }
        return new MetricsLog(dir);
    }

    /**
     * Continues the log of a run resumed at {@code step}: records of later steps (written after that checkpoint
     * by the run that was interrupted) are dropped first, so every step appears once.
     */
    public static MetricsLog resume(Path dir, long step) {
        Path path = dir.resolve(FILE);
        if (Files.exists(path)) {
            try {
                List<String> kept = Files.readAllLines(path, StandardCharsets.UTF_8).stream()
                        .filter(line -> stepOf(line) <= step).toList();
                byte[] bytes = kept.stream().map(l -> l + "\n").reduce("", String::concat).getBytes(StandardCharsets.UTF_8);
                AtomicWrite.write(path, ch -> ch.write(ByteBuffer.wrap(bytes)));
            } catch (IOException e) {
                throw new JgptException("cannot read " + path + ": " + IoErrors.reason(e), e);
            }
        }
        return new MetricsLog(dir);
    }

    private static long stepOf(String line) {
        try {
            JsonNode step = JSON.readTree(line).path("step");
            return step.canConvertToLong() ? step.asLong() : Long.MAX_VALUE;
        } catch (IOException e) {
            return Long.MAX_VALUE; // a torn last line from a kill: drop it
        }
    }

    public void write(Map<String, ?> record) {
        Map<String, Object> finite = new LinkedHashMap<>();
        record.forEach((k, v) -> {
            if (!(v instanceof Double d && !Double.isFinite(d)) && !(v instanceof Float f && !Float.isFinite(f))) finite.put(k, v);
        });
        try {
            out.write(JSON.writeValueAsString(finite));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new JgptException("cannot write " + path + ": " + IoErrors.reason(e), e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new JgptException("cannot close " + path + ": " + IoErrors.reason(e), e);
        }
    }
}
