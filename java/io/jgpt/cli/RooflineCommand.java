package io.jgpt.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import io.jgpt.io.IoErrors;
import io.jgpt.profile.Roofline;
import io.jgpt.profile.RooflineChart;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Draws the roofline PNG of a profile recorded elsewhere: the GPU check's runtime has no java.desktop to draw
 * with (nor, perhaps, fonts), so its report keeps the points (`bench --profile --json`, one JSON object per
 * line in profile-b64.jsonl) and this draws them on a machine that can.
 */
@Command(name = "roofline", mixinStandardHelpOptions = true,
        description = "Draw the roofline PNG of a recorded profile (the JSON of `bench --profile --json`, or a file of such lines: the last with a roofline is drawn).")
public final class RooflineCommand implements Callable<Integer> {

    @Option(names = "--from", required = true, description = "A `bench --profile --json` output, e.g. docs/gpu-runs/RUN/profile-b64.jsonl.")
    Path from;

    @Option(names = "--out", required = true, description = "The PNG to write.")
    Path out;

    @Option(names = "--overwrite", description = "Replace an existing --out.")
    boolean overwrite;

    @Override
    public Integer call() {
        if (Files.exists(out) && !overwrite)
            throw new JgptException("--out " + out + " already exists; give --overwrite to replace it, or choose another name");
        JsonNode run = lastProfile(from);
        Roofline roofline;
        try {
            roofline = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
                    .treeToValue(run.get("roofline"), Roofline.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new JgptException(from + ": the roofline object is not one `bench` wrote: " + e.getMessage());
        }
        if (roofline.points().isEmpty()) throw new JgptException(from + ": the roofline has no points to draw");
        if (!Roofline.drawable())
            throw new JgptException("this Java runtime has no java.desktop to draw with; run roofline where it has");
        RooflineChart.write(roofline, title(run), out);
        System.out.println("wrote " + out + " (" + roofline.points().size() + " kernels)");
        return 0;
    }

    /** The last JSON object in the file that holds a roofline. */
    private static JsonNode lastProfile(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new JgptException("cannot read --from " + file + ": " + IoErrors.reason(e), e);
        }
        ObjectMapper json = new ObjectMapper();
        for (String line : lines.reversed()) {
            if (!line.trim().startsWith("{")) continue;
            try {
                JsonNode node = json.readTree(line);
                if (node.hasNonNull("roofline")) return node;
            } catch (IOException notJson) {
                // a line that is not one object (a partly written last line): look further up
            }
        }
        throw new JgptException(file + " holds no JSON line with a roofline (write one with `jgpt bench --profile --json`)");
    }

    /** e.g. "gpt2-small bf16 batch 64 (cuda:0 NVIDIA H200)", from whatever of those fields the run has. */
    private static String title(JsonNode run) {
        StringBuilder t = new StringBuilder();
        for (String field : List.of("model", "mode", "precision"))
            if (run.hasNonNull(field) && !t.toString().contains(run.get(field).asText()))
                t.append(t.isEmpty() ? "" : " ").append(run.get(field).asText());
        if (run.hasNonNull("batch")) t.append(" batch ").append(run.get("batch").asText());
        if (run.hasNonNull("device")) t.append(" (").append(run.get("device").asText()).append(")");
        return t.isEmpty() ? "roofline" : t.toString();
    }
}
