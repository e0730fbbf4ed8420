package io.jgpt.profile;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.jgpt.io.AtomicWrite;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes profiler events as a Chrome trace (the JSON "trace event format" that chrome://tracing and
 * Perfetto open): one complete ("ph":"X") event per span, times in microseconds, the span's declared bytes
 * and flops as args. Streams with Jackson's generator because a profiled run can hold 200k events.
 */
public final class ChromeTrace {

    private static final JsonFactory JSON = new JsonFactory();

    private ChromeTrace() {}

    /** Writes the trace atomically ({@link AtomicWrite}): a reader or a crash mid-write never sees a truncated trace. */
    public static void write(List<Profiler.Event> events, Path file) {
        AtomicWrite.write(file, channel -> writeTo(events, Channels.newOutputStream(channel)));
    }

    /** Writes the trace JSON to a stream, leaving it open. */
    public static void writeTo(List<Profiler.Event> events, OutputStream out) throws IOException {
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            g.writeStartObject();
            g.writeStringField("displayTimeUnit", "ms");
            g.writeArrayFieldStart("traceEvents");
            for (Profiler.Event e : events) {
                g.writeStartObject();
                g.writeStringField("name", e.name());
                g.writeStringField("cat", "jgpt");
                g.writeStringField("ph", "X");
                g.writeNumberField("ts", e.startMicros());
                g.writeNumberField("dur", e.durMicros());
                g.writeNumberField("pid", 1);
                g.writeNumberField("tid", 1);
                g.writeObjectFieldStart("args");
                g.writeNumberField("bytes", e.bytes());
                g.writeNumberField("flops", e.flops());
                g.writeEndObject();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
    }
}
