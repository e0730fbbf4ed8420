package io.jgpt.checkpoint;

import io.jgpt.JgptException;
import io.jgpt.io.HostTensor;
import io.jgpt.io.ModelWeights;
import io.jgpt.model.GPTModel;
import io.jgpt.model.Parameter;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Copies a model's state dict between its backend and host tensors (what checkpoint files hold). */
public final class ModelStates {
    private ModelStates() {}

    /** The model's state dict on the host, named as in the model ("h.0.attn.c_attn.weight", …). */
    public static ModelWeights export(GPTModel model) {
        return new ModelWeights(model.config(), download(model.ops(), model.stateDict()));
    }

    /** Host copies of the given tensors, in order. */
    public static Map<String, HostTensor> download(Ops ops, Map<String, Tensor> tensors) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, new HostTensor(t.shape(), ops.download(t))));
        return out;
    }

    /** Overwrites every parameter from host tensors; names and shapes must match exactly. */
    public static void load(GPTModel model, Map<String, HostTensor> weights, String source) {
        Map<String, Parameter> params = model.namedParameters();
        for (var e : params.entrySet()) {
            HostTensor h = weights.get(e.getKey());
            if (h == null) throw new JgptException(source + ": tensor '" + e.getKey() + "' is missing");
            upload(model.ops(), e.getValue().value(), h, source, e.getKey());
        }
        for (String name : weights.keySet()) {
            if (!params.containsKey(name)) throw new JgptException(source + ": unexpected tensor '" + name + "'");
        }
    }

    /** Writes a host tensor into a backend tensor of the same shape. */
    public static void upload(Ops ops, Tensor target, HostTensor h, String source, String name) {
        if (!Arrays.equals(target.shape(), h.shape())) {
            throw new JgptException(source + ": tensor '" + name + "' has shape " + Arrays.toString(h.shape())
                    + ", the model needs " + Arrays.toString(target.shape()));
        }
        ops.write(target, h.data());
    }
}
