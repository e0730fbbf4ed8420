package io.jgpt.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * The plain reason an I/O operation failed, for messages a user reads: "no such file or directory" rather
 * than "java.nio.file.NoSuchFileException: /x". The one place that turns Java's file exceptions into words.
 */
public final class IoErrors {
    private IoErrors() {}

    public static String reason(IOException e) {
        return switch (e) {
            case NoSuchFileException x -> "no such file or directory" + where(x);
            case AccessDeniedException x -> "permission denied" + where(x);
            case FileAlreadyExistsException x -> "already exists" + where(x);
            case NotDirectoryException x -> "not a directory" + where(x);
            case DirectoryNotEmptyException x -> "directory not empty" + where(x);
            case FileSystemException x when x.getReason() != null -> lowerFirst(x.getReason()) + where(x);
            default -> e.getMessage() != null && !e.getMessage().isBlank() ? e.getMessage() : "input/output error";
        };
    }

    private static String where(FileSystemException e) {
        String file = e.getFile();
        return file == null ? "" : " (" + file + (e.getOtherFile() == null ? "" : " -> " + e.getOtherFile()) + ")";
    }

    private static String lowerFirst(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }
}
