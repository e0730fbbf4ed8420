package io.jgpt.io;

import io.jgpt.model.GPTConfig;
import io.jgpt.JgptException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * jgpt's parameter names and shapes: Hugging Face GPT-2's names without the {@code transformer.} prefix, but with
 * every linear weight stored (out, in) like nn.Linear (and llm.c), not (in, out) like HF's Conv1D.
 */
public final class Gpt2Parameters {
    private Gpt2Parameters() {}

    /** Every parameter of a model of this shape, in llm.c's order (embeddings, blocks, final norm, head). */
    public static Map<String, int[]> shapes(GPTConfig s) {
        Map<String, int[]> out = new LinkedHashMap<>();
        int c = s.embDim();
        out.put("wte.weight", new int[] {s.vocabSize(), c});
        out.put("wpe.weight", new int[] {s.contextLength(), c});
        for (int i = 0; i < s.nLayers(); i++) {
            for (var e : layer(c, s.qkvBias()).entrySet()) {
                out.put("h." + i + "." + e.getKey(), e.getValue());
            }
        }
        out.put("ln_f.weight", new int[] {c});
        out.put("ln_f.bias", new int[] {c});
        if (!s.tiedHead()) {
            out.put("lm_head.weight", new int[] {s.vocabSize(), c});
        }
        return out;
    }

    /** One transformer block's parameters (name after {@code h.{i}.}), in llm.c's order. */
    public static Map<String, int[]> layer(int c, boolean qkvBias) {
        Map<String, int[]> out = new LinkedHashMap<>();
        out.put("ln_1.weight", new int[] {c});
        out.put("ln_1.bias", new int[] {c});
        out.put("attn.c_attn.weight", new int[] {3 * c, c});
        if (qkvBias) {
            out.put("attn.c_attn.bias", new int[] {3 * c});
        }
        out.put("attn.c_proj.weight", new int[] {c, c});
        out.put("attn.c_proj.bias", new int[] {c});
        out.put("ln_2.weight", new int[] {c});
        out.put("ln_2.bias", new int[] {c});
        out.put("mlp.c_fc.weight", new int[] {4 * c, c});
        out.put("mlp.c_fc.bias", new int[] {4 * c});
        out.put("mlp.c_proj.weight", new int[] {c, 4 * c});
        out.put("mlp.c_proj.bias", new int[] {c});
        return out;
    }

    /**
     * Checks that the tensors are exactly the parameters of the shape: none missing, none extra, each of the
     * expected shape. {@code source} (a file) prefixes the messages.
     */
    public static void validate(GPTConfig shape, Map<String, HostTensor> tensors, String source) {
        Map<String, int[]> expected = shapes(shape);
        for (var e : expected.entrySet()) {
            HostTensor t = tensors.get(e.getKey());
            if (t == null) {
                throw new JgptException(source + ": tensor '" + e.getKey() + "' is missing");
            }
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new JgptException(source + ": tensor '" + e.getKey() + "' has shape " + t.shapeString()
                        + ", the config needs " + Arrays.toString(e.getValue()));
            }
        }
        for (String name : tensors.keySet()) {
            if (!expected.containsKey(name)) {
                throw new JgptException(source + ": unexpected tensor '" + name + "' for this model");
            }
        }
    }
}
