package io.jgpt.demo;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The demo's training text, generated rather than shipped: short stories from a small grammar about a
 * lighthouse keeper's village. It has enough structure (agreement, recurring characters, fixed phrases)
 * for a small GPT to learn visibly within minutes, and it is the project's own text, so nothing is
 * downloaded or copied.
 */
public final class DemoCorpus {
    private DemoCorpus() {}

    private static final List<String> NAMES = List.of("Mara", "Tobin", "Elsie", "Rowan", "Ada", "Finn");
    private static final List<String> ANIMALS = List.of("cat", "gull", "dog", "goat", "crow", "fox");
    private static final List<String> ADJECTIVES = List.of("old", "quiet", "bright", "small", "grey", "brave");
    private static final List<String> PLACES = List.of("the harbour", "the lighthouse", "the market", "the cliffs",
            "the bakery", "the long pier");
    private static final List<String> THINGS = List.of("a lantern", "a basket of apples", "a blue coat",
            "an old map", "a loaf of bread", "a silver bell");
    private static final List<String> WEATHER = List.of("the wind was cold", "the sea was calm", "rain fell softly",
            "the fog rolled in", "the sun was warm", "the tide was high");

    /** About {@code paragraphs} short stories, deterministic for a seed. */
    public static String generate(int paragraphs, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        for (int p = 0; p < paragraphs; p++) {
            String hero = pick(rng, NAMES);
            String friend = pick(rng, NAMES.stream().filter(n -> !n.equals(hero)).toList());
            String animal = pick(rng, ANIMALS);
            String place = pick(rng, PLACES);
            String thing = pick(rng, THINGS);
            sb.append("One morning ").append(pick(rng, WEATHER)).append(", and ").append(hero)
              .append(" walked to ").append(place).append(". ");
            String adjective = pick(rng, ADJECTIVES);
            sb.append("There ").append(hero).append(" met ").append(friend).append(" and ")
              .append("aeiou".indexOf(adjective.charAt(0)) >= 0 ? "an " : "a ")
              .append(adjective).append(' ').append(animal).append(". ");
            sb.append('"').append("Have you seen ").append(thing).append("?\" asked ").append(friend).append(". ");
            if (rng.nextBoolean()) {
                sb.append(hero).append(" said that ").append(thing).append(" was at ").append(pick(rng, PLACES)).append(". ");
                sb.append("So they went there together, and the ").append(animal).append(" followed them. ");
            } else {
                sb.append(hero).append(" shook their head, and they looked for ").append(thing)
                  .append(" until evening. ");
                sb.append("At last the ").append(animal).append(" found it near ").append(pick(rng, PLACES)).append(". ");
            }
            sb.append("That night ").append(pick(rng, WEATHER)).append(", and everyone was glad.\n\n");
        }
        return sb.toString();
    }

    private static String pick(SplittableRandom rng, List<String> options) {
        return options.get(rng.nextInt(options.size()));
    }
}
