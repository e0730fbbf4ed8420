package io.jgpt.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/** Appends one JSON object per line to {@code metrics.jsonl}, flushed per line so a crash loses nothing logged. */
public final class MetricsLog implements AutoCloseable {
    public static final String FILE = "metrics.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path path;
    private final BufferedWriter out;

    public MetricsLog(Path dir, boolean append) {
        path = dir.resolve(FILE);
        try {
            Files.createDirectories(dir);
            out = Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException e) {
            throw new JgptException("cannot write " + path + ": " + e.getMessage(), e);
        }
    }

    public void write(Map<String, ?> record) {
        try {
            out.write(JSON.writeValueAsString(record));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new JgptException("cannot write " + path + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new JgptException("cannot close " + path + ": " + e.getMessage(), e);
        }
    }
}
