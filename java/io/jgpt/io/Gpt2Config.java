package io.jgpt.io;

import io.jgpt.tokenizer.Gpt2Tokenizer;
import io.jgpt.model.GPTConfig;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.jgpt.JgptException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Hugging Face's GPT-2 {@code config.json}. Only configurations jgpt's model computes exactly are accepted:
 * layer norm epsilon 1e-5, the tanh GELU, a 4x MLP. Reading leaves qkvBias true (HF GPT-2 always has that bias);
 * {@link Gpt2Checkpoint#load} settles it from the weights.
 */
public final class Gpt2Config {
    public static final String FILE = "config.json";
    private static final double LAYER_NORM_EPSILON = 1e-5;
    /** "gelu_pytorch_tanh" is the same tanh approximation under a newer name. */
    private static final Set<String> TANH_GELU = Set.of("gelu_new", "gelu_pytorch_tanh");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Gpt2Config() {}

    public static void write(Path path, GPTConfig s) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model_type", "gpt2");
        json.put("architectures", List.of("GPT2LMHeadModel"));
        json.put("vocab_size", s.vocabSize());
        json.put("n_positions", s.contextLength());
        json.put("n_ctx", s.contextLength());
        json.put("n_embd", s.embDim());
        json.put("n_layer", s.nLayers());
        json.put("n_head", s.nHeads());
        json.put("n_inner", null);
        json.put("activation_function", "gelu_new");
        json.put("layer_norm_epsilon", LAYER_NORM_EPSILON);
        json.put("resid_pdrop", s.dropRate());
        json.put("embd_pdrop", s.dropRate());
        json.put("attn_pdrop", s.dropRate());
        json.put("tie_word_embeddings", s.tiedHead());
        json.put("bos_token_id", Gpt2Tokenizer.END_OF_TEXT);
        json.put("eos_token_id", Gpt2Tokenizer.END_OF_TEXT);
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsString(json).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new JgptException("cannot write " + path + ": " + e.getOriginalMessage(), e);
        }
        AtomicWrite.write(path, channel -> {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        });
    }

    public static GPTConfig read(Path path) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(path));
        } catch (JsonProcessingException e) {
            throw new JgptException(path + ": not valid JSON: " + e.getOriginalMessage().lines().findFirst().orElse(""), e);
        } catch (IOException e) {
            throw new JgptException("cannot read " + path + ": " + IoErrors.reason(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new JgptException(path + ": not a JSON object");
        }
        String modelType = root.path("model_type").asText("gpt2");
        if (!modelType.equals("gpt2")) {
            throw new JgptException(path + ": model_type '" + modelType + "' is not gpt2");
        }
        int embDim = positiveInt(path, root, "n_embd");
        int context = root.has("n_positions") ? positiveInt(path, root, "n_positions") : positiveInt(path, root, "n_ctx");
        JsonNode inner = root.path("n_inner");
        if (!inner.isMissingNode() && !inner.isNull() && !(inner.isIntegralNumber() && inner.longValue() == 4L * embDim)) {
            throw new JgptException(path + ": n_inner " + inner + " is not 4 * n_embd (" + 4L * embDim + ")");
        }
        String activation = root.path("activation_function").asText("gelu_new");
        if (!TANH_GELU.contains(activation)) {
            throw new JgptException(path + ": activation_function '" + activation + "' is not supported (gelu_new)");
        }
        JsonNode eps = root.path("layer_norm_epsilon");
        if (!eps.isMissingNode() && !(eps.isNumber() && eps.doubleValue() == LAYER_NORM_EPSILON)) {
            throw new JgptException(path + ": layer_norm_epsilon " + eps + " is not supported (1e-5)");
        }
        JsonNode tie = root.path("tie_word_embeddings");
        if (!tie.isMissingNode() && !tie.isBoolean()) {
            throw new JgptException(path + ": tie_word_embeddings " + tie + " is not a boolean");
        }
        JsonNode drop = root.path("resid_pdrop");
        if (!drop.isMissingNode() && !drop.isNumber()) {
            throw new JgptException(path + ": resid_pdrop " + drop + " is not a number");
        }
        try {
            // The model has one drop rate; HF GPT-2 sets all three pdrops alike and resid_pdrop stands for them.
            return new GPTConfig(positiveInt(path, root, "vocab_size"), context, embDim,
                    positiveInt(path, root, "n_head"), positiveInt(path, root, "n_layer"),
                    (float) drop.asDouble(0.1), true, tie.asBoolean(true));
        } catch (JgptException e) {
            throw new JgptException(path + ": " + e.getMessage(), e);
        }
    }

    private static int positiveInt(Path path, JsonNode root, String key) {
        JsonNode n = root.get(key);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 1) {
            throw new JgptException(path + ": " + key + " must be a positive integer, got " + n);
        }
        return n.intValue();
    }
}
