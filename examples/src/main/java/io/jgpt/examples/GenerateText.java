package io.jgpt.examples;

import io.jgpt.api.LanguageModel;
import io.jgpt.api.LanguageModel.Completion;
import io.jgpt.api.LanguageModel.Sampling;
import java.util.List;

/**
 * jgpt as a library: load a checkpoint, stream a sampled continuation, then decode two prompts together.
 * Run: java --add-modules jdk.incubator.vector -cp target/classes:JGPT_JAR io.jgpt.examples.GenerateText MODEL [PROMPT]
 */
public final class GenerateText {
    public static void main(String[] args) {
        String model = args.length > 0 ? args[0] : "runs/demo";
        String prompt = args.length > 1 ? args[1] : "One morning";
        try (LanguageModel gpt = LanguageModel.load(model, LanguageModel.Options.defaults().batch(2))) {
            System.out.print(prompt);
            gpt.generate(prompt, new Sampling(30, 0.8f, 40, 0.95f, 7), System.out::print);
            System.out.println();
            for (Completion c : gpt.generateAll(List.of("The fox", "Mara said"), Sampling.greedy(12))) {
                System.out.println(c.prompt() + c.text() + "   [" + c.tokens().length + " tokens]");
            }
        }
    }
}
