package io.jgpt.io;

import io.jgpt.JgptException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Directories that appear and disappear whole. A new one is assembled under a temporary name beside its
 * target, forced to disk and renamed into place; an old one is renamed away before it is deleted. A crash
 * never leaves a half-written or half-deleted directory under the real name, only dot-named leftovers that
 * nothing reads (replacing an existing directory renames the old one away first, so for a moment neither
 * is under the real name; the old copy survives as {@code .deleting-NAME-PID} until the new one is in place).
 */
public final class AtomicDirectory {
    @FunctionalInterface
    public interface Body {
        void fill(Path dir) throws IOException;
    }

    /** The prefix of a directory being assembled (readers skip dot-names; tests look for it). */
    public static final String TEMP_PREFIX = ".tmp-";

    private AtomicDirectory() {}

    /** Fills a fresh temporary directory and renames it to {@code target}, replacing what was there. */
    public static void write(Path target, Body body) {
        Path parent = target.toAbsolutePath().getParent();
        Path temp = sibling(target, TEMP_PREFIX);
        try {
            Files.createDirectories(parent);
            deleteTree(temp);
            Files.createDirectory(temp);
            body.fill(temp);
            fsync(temp);
            if (Files.exists(target)) delete(target);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            fsync(parent);
        } catch (IOException e) {
            throw new JgptException("cannot write " + target + ": " + IoErrors.reason(e), e);
        } finally {
            try {
                deleteTree(temp); // only still there when something above failed
            } catch (IOException ignored) {
                // The failure itself is being reported; a dot-named leftover is the lesser problem.
            }
        }
    }

    /** Deletes a directory tree so that it never exists half-deleted under its own name. */
    public static void delete(Path dir) {
        Path doomed = sibling(dir, ".deleting-");
        try {
            Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
            fsync(dir.toAbsolutePath().getParent());
            deleteTree(doomed);
        } catch (IOException e) {
            throw new JgptException("cannot remove " + dir + ": " + IoErrors.reason(e), e);
        }
    }

    private static Path sibling(Path p, String prefix) {
        return p.toAbsolutePath().resolveSibling(prefix + p.getFileName() + "-" + ProcessHandle.current().pid());
    }

    private static void fsync(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir)) {
            ch.force(true);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }
}
