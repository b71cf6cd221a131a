package taskhub.interop;

import com.microsoft.durabletask.DurableTaskGrpcWorkerBuilder;
import com.microsoft.durabletask.RetryPolicy;
import com.microsoft.durabletask.Task;
import com.microsoft.durabletask.TaskActivity;
import com.microsoft.durabletask.TaskActivityFactory;
import com.microsoft.durabletask.TaskCanceledException;
import com.microsoft.durabletask.TaskOptions;
import com.microsoft.durabletask.TaskOrchestration;
import com.microsoft.durabletask.TaskOrchestrationFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** The orchestrations and activities every Java interop test registers on its worker. */
final class Orchestrations {
  private Orchestrations() {}

  /** Keys whose "FailUntilFixed" activity (and "FailingChild" orchestration) now succeed. */
  static final Set<String> FIXED = ConcurrentHashMap.newKeySet();
  /** Attempts per key of the "Flaky" activity. */
  static final ConcurrentHashMap<String, AtomicInteger> ATTEMPTS = new ConcurrentHashMap<>();

  static DurableTaskGrpcWorkerBuilder register(DurableTaskGrpcWorkerBuilder b) {
    orchestration(b, "Chain", ctx -> {
      List<String> out = new ArrayList<>();
      for (String city : List.of("Tokyo", "Seattle", "London")) {
        out.add(ctx.callActivity("SayHello", city, String.class).await());
      }
      ctx.complete(out);
    });
    orchestration(b, "FanOut", ctx -> {
      int n = ctx.getInput(Integer.class);
      List<Task<Integer>> tasks = new ArrayList<>();
      for (int i = 1; i <= n; i++) tasks.add(ctx.callActivity("Square", i, Integer.class));
      int sum = 0;
      for (int v : ctx.allOf(tasks).await()) sum += v;
      ctx.complete(sum);
    });
    orchestration(b, "Parent", ctx -> {
      String childId = ctx.getInstanceId() + "-child";
      List<?> r = ctx.callSubOrchestrator("Chain", null, childId, List.class).await();
      ctx.complete(r.size());
    });
    orchestration(b, "WaitEvent", ctx -> {
      String v = ctx.waitForExternalEvent("approval", Duration.ofMinutes(5), String.class).await();
      ctx.complete("approved:" + v);
    });
    orchestration(b, "WaitEventTimeout", ctx -> {
      try {
        ctx.waitForExternalEvent("approval", Duration.ofMillis(300), String.class).await();
        ctx.complete("approved");
      } catch (TaskCanceledException e) {
        ctx.complete("timed out");
      }
    });
    orchestration(b, "Timer", ctx -> {
      var before = ctx.getCurrentInstant();
      ctx.createTimer(Duration.ofMillis(700)).await();
      ctx.complete(Duration.between(before, ctx.getCurrentInstant()).toMillis());
    });
    orchestration(b, "Retry", ctx -> {
      TaskOptions retry = new TaskOptions(new RetryPolicy(4, Duration.ofMillis(100)));
      ctx.complete(ctx.callActivity("Flaky", ctx.getInstanceId(), retry, String.class).await());
    });
    orchestration(b, "Counter", ctx -> {
      int n = ctx.getInput(Integer.class);
      if (n < 5) {
        ctx.continueAsNew(n + 1);
      } else {
        ctx.complete(n);
      }
    });
    orchestration(b, "CustomStatus", ctx -> {
      ctx.setCustomStatus("waiting");
      ctx.waitForExternalEvent("go").await();
      ctx.setCustomStatus("done");
      ctx.complete("ok");
    });
    orchestration(b, "Echo", ctx -> ctx.complete(ctx.getInput(String.class)));
    orchestration(b, "FailOnce", ctx -> {
      String a = ctx.callActivity("SayHello", "first", String.class).await();
      String b2 = ctx.callActivity("FailUntilFixed", ctx.getInstanceId(), String.class).await();
      ctx.complete(a + "|" + b2);
    });
    orchestration(b, "FailingChild", ctx -> {
      ctx.complete(ctx.callActivity("FailUntilFixed", ctx.getInstanceId(), String.class).await());
    });
    orchestration(b, "ParentOfFailing", ctx -> {
      String childId = ctx.getInstanceId() + "-child";
      ctx.complete(ctx.callSubOrchestrator("FailingChild", null, childId, String.class).await());
    });

    activity(b, "SayHello", ctx -> "Hello " + ctx.getInput(String.class) + "!");
    activity(b, "Square", ctx -> {
      int i = ctx.getInput(Integer.class);
      return i * i;
    });
    activity(b, "Flaky", ctx -> {
      String key = ctx.getInput(String.class);
      int n = ATTEMPTS.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
      if (n < 3) throw new IllegalStateException("attempt " + n + " fails");
      return "succeeded on attempt " + n;
    });
    activity(b, "FailUntilFixed", ctx -> {
      String key = ctx.getInput(String.class);
      if (!FIXED.contains(key)) throw new IllegalStateException("not fixed yet: " + key);
      return "fixed";
    });
    return b;
  }

  private static void orchestration(DurableTaskGrpcWorkerBuilder b, String name,
                                    TaskOrchestration fn) {
    b.addOrchestration(new TaskOrchestrationFactory() {
      @Override
      public String getName() {
        return name;
      }

      @Override
      public TaskOrchestration create() {
        return fn;
      }
    });
  }

  private static void activity(DurableTaskGrpcWorkerBuilder b, String name, TaskActivity fn) {
    b.addActivity(new TaskActivityFactory() {
      @Override
      public String getName() {
        return name;
      }

      @Override
      public TaskActivity create() {
        return fn;
      }
    });
  }
}
