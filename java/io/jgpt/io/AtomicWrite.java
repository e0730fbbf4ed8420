package io.jgpt.io;

import io.jgpt.JgptException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that readers see either the old file or the complete new one, never a torn one: a crash
 * mid-save must not destroy the last good checkpoint. The bytes go to a temporary file in the same directory
 * (a rename is atomic only within one file system), are forced to disk, then renamed over the target.
 */
public final class AtomicWrite {
    @FunctionalInterface
    public interface Body {
        void writeTo(FileChannel channel) throws IOException;
    }

    private static final java.util.random.RandomGenerator TEMP_NAMES = new java.security.SecureRandom();

    private AtomicWrite() {}

    public static void write(Path target, Body body) {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = null;
        try {
            Files.createDirectories(dir);
            // Not Files.createTempFile: that makes the file 0600, and the renamed file would keep it; created
            // plainly, it gets the user's umask like any other file they write.
            temp = dir.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "."
                    + Long.toHexString(TEMP_NAMES.nextLong()) + ".tmp");
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                body.writeTo(channel);
                channel.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            temp = null;
            syncDirectory(dir);
        } catch (IOException e) {
            throw new JgptException("cannot write " + target + ": " + IoErrors.reason(e), e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // The write already failed and says so; a stray temp file is the lesser problem.
                }
            }
        }
    }

    /** Makes the rename itself durable. Some platforms cannot open a directory; the rename is still atomic there. */
    private static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException ignored) {
            // Best effort only, see above.
        }
    }
}
