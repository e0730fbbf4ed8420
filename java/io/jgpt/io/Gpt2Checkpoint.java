package io.jgpt.io;

import io.jgpt.model.GPTConfig;
import io.jgpt.JgptException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Hugging Face GPT-2 checkpoints (a directory with {@code config.json} and {@code model.safetensors}), mapped to
 * and from jgpt's parameters. The files load in {@code GPT2LMHeadModel.from_pretrained}, and HF's own GPT-2
 * files load here.
 */
public final class Gpt2Checkpoint {
    public static final String WEIGHTS_FILE = "model.safetensors";
    private static final String PREFIX = "transformer.";
    private static final String HEAD = "lm_head.weight";
    /** HF's Conv1D weights are (in, out); jgpt's linear weights are (out, in). */
    private static final Pattern CONV1D_WEIGHT = Pattern.compile("h\\.\\d+\\.(attn\\.c_attn|attn\\.c_proj|mlp\\.c_fc|mlp\\.c_proj)\\.weight");
    /** The causal-mask buffers older HF versions saved alongside the weights; they are not parameters. */
    private static final Pattern MASK_BUFFER = Pattern.compile("h\\.\\d+\\.attn\\.(bias|masked_bias)");
    private static final Pattern QKV_BIAS = Pattern.compile("h\\.\\d+\\.attn\\.c_attn\\.bias");

    private Gpt2Checkpoint() {}

    /** Writes {@code dir/config.json} and {@code dir/model.safetensors}, each atomically. */
    public static void save(Path dir, ModelWeights weights) {
        save(dir, weights, Dtype.F32);
    }

    /**
     * Saves the weight matrices as {@code matrices}: F32, or BF16 (half the bytes; what bf16 decoding maps in
     * place); biases and LayerNorm parameters stay F32.
     */
    public static void save(Path dir, ModelWeights weights, Dtype matrices) {
        Gpt2Parameters.validate(weights.shape(), weights.tensors(), dir.toString());
        Gpt2Config.write(dir.resolve(Gpt2Config.FILE), weights.shape());
        // transformers refuses safetensors files whose metadata lacks format=pt.
        Safetensors.write(dir.resolve(WEIGHTS_FILE), toHuggingFace(weights.tensors()), Map.of("format", "pt"), matrices);
    }

    /**
     * Reads a checkpoint directory. Whether the model has a qkv bias and an untied head is read from the
     * weights: all-zero c_attn biases mean none (they are what {@link #save} writes for a model without them),
     * and the head is untied when lm_head is present and either differs from wte or the config says so.
     */
    public static ModelWeights load(Path dir) {
        GPTConfig configured = Gpt2Config.read(dir.resolve(Gpt2Config.FILE));
        Path weightsPath = dir.resolve(WEIGHTS_FILE);
        Map<String, HostTensor> hf = new LinkedHashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(weightsPath)) {
            for (String name : file.names()) {
                if (!MASK_BUFFER.matcher(stripPrefix(name)).matches()) {
                    hf.put(name, file.read(name));
                }
            }
        }
        Map<String, HostTensor> tensors = fromHuggingFace(hf, weightsPath.toString());
        if (!configured.tiedHead()) {
            // An explicit tie_word_embeddings=false keeps lm_head even where it happens to equal wte.
            HostTensor head = hf.containsKey(HEAD) ? hf.get(HEAD) : hf.get(PREFIX + HEAD);
            if (head == null) {
                throw new JgptException(weightsPath + ": tensor '" + HEAD + "' is missing (config.json has"
                        + " tie_word_embeddings false)");
            }
            tensors.put(HEAD, head);
        }
        GPTConfig shape = configured.withQkvBias(tensors.containsKey("h.0.attn.c_attn.bias"))
                .withTiedHead(!tensors.containsKey(HEAD));
        Gpt2Parameters.validate(shape, tensors, weightsPath.toString());
        return new ModelWeights(shape, tensors);
    }

    /**
     * jgpt's parameters under the names and layouts {@code GPT2LMHeadModel.save_pretrained} writes: the
     * {@code transformer.} prefix (not on lm_head), Conv1D weights transposed to (in, out), and zero c_attn
     * biases for a model without them, since HF's GPT-2 always has that bias and a zero one changes nothing.
     */
    public static Map<String, HostTensor> toHuggingFace(Map<String, HostTensor> jgpt) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (var e : jgpt.entrySet()) {
            String name = e.getKey();
            HostTensor t = e.getValue();
            if (CONV1D_WEIGHT.matcher(name).matches()) {
                t = transposed(name, t, "jgpt");
                String qkvBias = name.replace(".weight", ".bias");
                if (name.endsWith(".c_attn.weight") && !jgpt.containsKey(qkvBias)) {
                    out.put(PREFIX + qkvBias, HostTensor.zeros(t.shape()[1]));
                }
            }
            out.put(name.equals(HEAD) ? name : PREFIX + name, t);
        }
        return out;
    }

    /**
     * The inverse of {@link #toHuggingFace}: strips an optional {@code transformer.} prefix, drops mask buffers,
     * transposes Conv1D weights back, drops the c_attn biases when all are zero and lm_head when it equals wte.
     * {@code source} names the file in errors.
     */
    public static Map<String, HostTensor> fromHuggingFace(Map<String, HostTensor> hf, String source) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (var e : hf.entrySet()) {
            String name = stripPrefix(e.getKey());
            if (MASK_BUFFER.matcher(name).matches()) {
                continue;
            }
            HostTensor t = CONV1D_WEIGHT.matcher(name).matches() ? transposed(source + ": " + name, e.getValue(), "HF")
                    : e.getValue();
            if (out.put(name, t) != null) {
                throw new JgptException(source + ": tensor '" + name + "' appears with and without the prefix");
            }
        }
        boolean noQkvBias = out.entrySet().stream()
                .filter(e -> QKV_BIAS.matcher(e.getKey()).matches())
                .allMatch(e -> e.getValue().isAllZero());
        if (noQkvBias) {
            out.keySet().removeIf(name -> QKV_BIAS.matcher(name).matches());
        }
        HostTensor head = out.get(HEAD);
        HostTensor wte = out.get("wte.weight");
        if (head != null && wte != null && head.sameAs(wte)) {
            out.remove(HEAD);
        }
        return out;
    }

    private static String stripPrefix(String name) {
        return name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name;
    }

    private static HostTensor transposed(String name, HostTensor t, String side) {
        if (t.shape().length != 2) {
            throw new JgptException(name + ": " + side + " linear weight must be a matrix, has shape "
                    + t.shapeString());
        }
        return t.transposed();
    }
}
