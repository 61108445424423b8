package dev.splitinfer.core;

import java.io.IOException;

/**
 * A condenser bundle cannot be used: missing, not a bundle, truncated, corrupt or of a newer
 * format. The port of {@code splitinfer.sdk._errors.BundleError}; the message names the file,
 * the problem and the fix, ready to show to a developer.
 */
public final class BundleException extends IOException {
  private static final long serialVersionUID = 1L;

  public BundleException(String message) {
    super(message);
  }
}
