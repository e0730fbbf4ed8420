package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The ./jgpt launcher's stderr filter: the JVM's incubator warning goes, every other byte stays. */
class LauncherTest {

    private static String filter(String stderr) throws IOException, InterruptedException {
        String script = Files.readString(Path.of("jgpt"));
        Matcher m = Pattern.compile("(?ms)^drop_incubator_warning\\(\\) \\{.*?^\\}$").matcher(script);
        if (!m.find()) throw new AssertionError("jgpt has no drop_incubator_warning function");
        Process p = new ProcessBuilder("bash", "-c", m.group() + "\ndrop_incubator_warning").start();
        p.getOutputStream().write(stderr.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    @Test
    void dropsOnlyTheIncubatorWarning() throws Exception {
        assertEquals("training ...\rtrain 50%\rdone\n",
                filter("WARNING: Using incubator modules: jdk.incubator.vector\ntraining ...\rtrain 50%\rdone\n"));
        assertEquals("jgpt: boom\nWARNING: Using incubator modules: later lines stay\n",
                filter("jgpt: boom\nWARNING: Using incubator modules: later lines stay\n"));
        assertEquals("no newline", filter("no newline"));
        assertEquals("", filter(""));
    }
}
