package io.jgpt.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jgpt.JgptException;
import io.jgpt.api.LanguageModel.Completion;
import io.jgpt.data.Corpus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code generate --prompts FILE}: one prompt per line, or JSONL (a line starting with '{' is an object with a
 * string "prompt"; one starting with '"' is a JSON string). Blank lines are skipped. Output is one JSON
 * object per prompt: index, prompt, completion, new_tokens, end_of_text.
 */
final class PromptFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PromptFile() {}

    static List<String> read(Path file) {
        String text = Corpus.readText(file);
        List<String> prompts = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank()) continue;
            String prompt = line.startsWith("{") || line.startsWith("\"") ? json(file, i + 1, line) : line;
            if (prompt.isEmpty()) throw new JgptException(file + ":" + (i + 1) + ": the prompt is empty");
            prompts.add(prompt);
        }
        if (prompts.isEmpty()) throw new JgptException(file + ": no prompts (the file is empty or blank)");
        return prompts;
    }

    private static String json(Path file, int line, String text) {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new JgptException(file + ":" + line + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (node.isTextual()) return node.textValue();
        JsonNode prompt = node.get("prompt");
        if (prompt == null || !prompt.isTextual()) {
            throw new JgptException(file + ":" + line + ": a JSON line needs a string field \"prompt\"");
        }
        return prompt.textValue();
    }

    static String jsonLine(int index, Completion c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("index", index);
        o.put("prompt", c.prompt());
        o.put("completion", c.text());
        o.put("new_tokens", c.tokens().length);
        o.put("end_of_text", c.endOfText());
        return o.toString();
    }
}
