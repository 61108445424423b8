package dev.splitinfer.core;

import java.util.ArrayList;
import java.util.List;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

/**
 * Runs the given test classes like JUnitCore, and also names the tests skipped by an
 * assumption (JUnitCore counts them as passed silently), so a skip is never mistaken for a pass.
 * Exit status 0 only when nothing failed.
 */
public final class CoreTestMain {
  private CoreTestMain() {}

  public static void main(String[] args) throws ClassNotFoundException {
    List<Class<?>> classes = new ArrayList<>();
    for (String name : args) {
      classes.add(Class.forName(name));
    }
    List<String> skipped = new ArrayList<>();
    JUnitCore core = new JUnitCore();
    core.addListener(new RunListener() {
      @Override
      public void testAssumptionFailure(Failure failure) {
        skipped.add(failure.getDescription().getDisplayName() + ": " + failure.getMessage());
      }
    });
    core.addListener(new org.junit.internal.TextListener(System.out));
    Result result = core.run(classes.toArray(new Class<?>[0]));
    for (String s : skipped) {
      System.out.println("SKIPPED " + s);
    }
    System.out.printf("SUMMARY run=%d failed=%d skipped=%d ms=%d%n", result.getRunCount(),
        result.getFailureCount(), skipped.size(), result.getRunTime());
    System.exit(result.wasSuccessful() ? 0 : 1);
  }
}
