package io.jgpt.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChromeTraceTest {

    @TempDir
    Path tmp;

    private static List<Profiler.Event> events() {
        Profiler p = new Profiler(new ScriptedClock(10, 110, 150, 175));
        long t = p.begin();
        p.end(t, "matmul", 4096, 1e6);
        t = p.begin();
        p.end(t, "softmax \"fused\"", 512, 0);
        p.flush();
        return p.events();
    }

    @Test
    void writesCompleteEventsWithArgs() throws IOException {
        Path file = tmp.resolve("trace.json");
        ChromeTrace.write(events(), file);
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        JsonNode evs = root.get("traceEvents");
        assertEquals(2, evs.size());
        JsonNode first = evs.get(0), second = evs.get(1);
        assertEquals("matmul", first.get("name").asText());
        assertEquals("X", first.get("ph").asText());
        assertEquals(0, first.get("ts").asDouble());
        assertEquals(100, first.get("dur").asDouble());
        assertEquals(4096, first.get("args").get("bytes").asLong());
        assertEquals(1e6, first.get("args").get("flops").asDouble());
        assertEquals("softmax \"fused\"", second.get("name").asText());
        assertEquals(140, second.get("ts").asDouble());
        assertEquals(25, second.get("dur").asDouble());
    }

    @Test
    void replacesTheFileWholeAndLeavesNoTemporaries() throws IOException {
        Path file = Files.writeString(tmp.resolve("trace.json"), "old");
        ChromeTrace.write(events(), file);
        ChromeTrace.write(List.of(), file);
        assertEquals(0, new ObjectMapper().readTree(file.toFile()).get("traceEvents").size());
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void aFailedWriteKeepsThePreviousTrace() throws IOException {
        Path file = tmp.resolve("trace.json");
        ChromeTrace.write(events(), file);
        String before = Files.readString(file);
        List<Profiler.Event> failing = new AbstractList<>() {
            @Override
            public Profiler.Event get(int i) {
                if (i == 1) throw new IllegalStateException("device lost");
                return events().getFirst();
            }

            @Override
            public int size() {
                return 3;
            }
        };
        assertThrows(IllegalStateException.class, () -> ChromeTrace.write(failing, file));
        assertEquals(before, Files.readString(file));
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(file), files.toList());
        }
    }
}
