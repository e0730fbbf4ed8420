package io.jgpt.model;

import java.util.SplittableRandom;

/** Host-side initial values; generated in a fixed order from one seeded generator so runs are reproducible. */
final class Init {
    private Init() {}

    static float[] uniform(SplittableRandom rng, int n, double bound) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        return a;
    }

    static float[] normal(SplittableRandom rng, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i += 2) {
            // Box–Muller: two independent normals per pair of uniforms. StrictMath: the same weights
            // whether or not the JIT has compiled this loop yet.
            double u1 = 1.0 - rng.nextDouble();
            double u2 = rng.nextDouble();
            double r = Math.sqrt(-2 * StrictMath.log(u1)) * std;
            a[i] = (float) (r * StrictMath.cos(2 * Math.PI * u2));
            if (i + 1 < n) a[i + 1] = (float) (r * StrictMath.sin(2 * Math.PI * u2));
        }
        return a;
    }

    static float[] constant(int n, float value) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, value);
        return a;
    }
}
