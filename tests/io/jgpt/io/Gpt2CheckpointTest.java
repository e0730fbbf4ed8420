package io.jgpt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Gpt2CheckpointTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"true, true", "false, true", "true, false", "false, false"})
    void savesAndLoadsEveryVariant(boolean qkvBias, boolean tied) {
        ModelWeights weights = TinyModels.weights(TinyModels.shape(qkvBias, tied), 1);
        Gpt2Checkpoint.save(dir, weights);
        ModelWeights loaded = Gpt2Checkpoint.load(dir);
        assertEquals(weights.shape(), loaded.shape());
        TinyModels.assertSameTensors(weights.tensors(), loaded.tensors());
    }

    @Test
    void writesHuggingFaceNamesLayoutsAndConfig() throws IOException {
        ModelWeights weights = TinyModels.weights(TinyModels.shape(false, false), 2);
        Gpt2Checkpoint.save(dir, weights);
        try (SafetensorsFile file = Safetensors.open(dir.resolve("model.safetensors"))) {
            assertEquals("pt", file.metadata().get("format"));
            assertArrayEquals(new int[] {4, 12}, file.shape("transformer.h.0.attn.c_attn.weight"));
            assertArrayEquals(new int[] {4, 16}, file.shape("transformer.h.1.mlp.c_fc.weight"));
            assertArrayEquals(new int[] {16, 4}, file.shape("transformer.h.1.mlp.c_proj.weight"));
            assertArrayEquals(new int[] {10, 4}, file.shape("lm_head.weight"));
            assertArrayEquals(new int[] {10, 4}, file.shape("transformer.wte.weight"));
            assertArrayEquals(new float[12], file.readFloats("transformer.h.1.attn.c_attn.bias"));
            // HF Conv1D: element (in=i, out=o) of HF equals jgpt's (out=o, in=i).
            float[] hf = file.readFloats("transformer.h.0.attn.c_attn.weight");
            float[] jgpt = weights.tensors().get("h.0.attn.c_attn.weight").data();
            assertEquals(jgpt[7 * 4 + 2], hf[2 * 12 + 7]);
        }
        JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        assertEquals("gpt2", config.get("model_type").asText());
        assertEquals("GPT2LMHeadModel", config.get("architectures").get(0).asText());
        assertEquals(4, config.get("n_embd").asInt());
        assertEquals(2, config.get("n_head").asInt());
        assertEquals(2, config.get("n_layer").asInt());
        assertEquals(4, config.get("n_positions").asInt());
        assertEquals(10, config.get("vocab_size").asInt());
        assertEquals(1e-5, config.get("layer_norm_epsilon").asDouble());
        assertEquals("gelu_new", config.get("activation_function").asText());
        assertFalse(config.get("tie_word_embeddings").asBoolean());
        assertEquals(50256, config.get("eos_token_id").asInt());
        assertEquals(0.1, config.get("resid_pdrop").asDouble(), 1e-7);
    }

    @Test
    void readsUnprefixedFilesWithMaskBuffersAndATiedHeadCopy() {
        ModelWeights weights = TinyModels.weights(TinyModels.shape(true, true), 3);
        Map<String, HostTensor> hf = new LinkedHashMap<>();
        for (var e : Gpt2Checkpoint.toHuggingFace(weights.tensors()).entrySet()) {
            hf.put(e.getKey().replace("transformer.", ""), e.getValue());
        }
        hf.put("h.0.attn.bias", HostTensor.zeros(1, 1, 4, 4));
        hf.put("h.1.attn.masked_bias", HostTensor.zeros());
        hf.put("lm_head.weight", weights.tensors().get("wte.weight"));
        TinyModels.assertSameTensors(weights.tensors(), Gpt2Checkpoint.fromHuggingFace(hf, "test"));
    }

    @Test
    void shapeMismatchNamesTheTensorAndBothShapes() throws IOException {
        Gpt2Checkpoint.save(dir, TinyModels.weights(TinyModels.shape(true, true), 4));
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"n_positions\" : 4", "\"n_positions\" : 5"));
        JgptException e = assertThrows(JgptException.class, () -> Gpt2Checkpoint.load(dir));
        assertTrue(e.getMessage().contains("'wpe.weight'") && e.getMessage().contains("[4, 4]")
                && e.getMessage().contains("[5, 4]"), e.getMessage());
    }

    @Test
    void missingTensorAndBadConfigAreNamed() throws IOException {
        ModelWeights weights = TinyModels.weights(TinyModels.shape(true, true), 5);
        Map<String, HostTensor> hf = Gpt2Checkpoint.toHuggingFace(weights.tensors());
        hf.remove("transformer.h.1.ln_2.bias");
        Gpt2Checkpoint.save(dir, weights);
        Safetensors.write(dir.resolve("model.safetensors"), hf, Map.of("format", "pt"));
        JgptException e = assertThrows(JgptException.class, () -> Gpt2Checkpoint.load(dir));
        assertTrue(e.getMessage().contains("'h.1.ln_2.bias' is missing"), e.getMessage());

        Path config = dir.resolve("config.json");
        String good = Files.readString(config);
        Files.writeString(config, good.replace("\"n_head\" : 2", "\"n_head\" : 3"));
        e = assertThrows(JgptException.class, () -> Gpt2Checkpoint.load(dir));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("not divisible"), e.getMessage());
        Files.writeString(config, good.replace("1.0E-5", "1.0E-6"));
        e = assertThrows(JgptException.class, () -> Gpt2Checkpoint.load(dir));
        assertTrue(e.getMessage().contains("layer_norm_epsilon"), e.getMessage());
        Files.writeString(config, "{\"n_embd\": \"big\"}");
        e = assertThrows(JgptException.class, () -> Gpt2Checkpoint.load(dir));
        assertTrue(e.getMessage().contains("n_embd"), e.getMessage());
    }

    @Test
    void untiedConfigWithoutHeadIsAnError() throws IOException {
        Gpt2Checkpoint.save(dir, TinyModels.weights(TinyModels.shape(true, true), 6));
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"tie_word_embeddings\" : true",
                "\"tie_word_embeddings\" : false"));
        JgptException e = assertThrows(JgptException.class, () -> Gpt2Checkpoint.load(dir));
        assertTrue(e.getMessage().contains("lm_head.weight"), e.getMessage());
    }
}
