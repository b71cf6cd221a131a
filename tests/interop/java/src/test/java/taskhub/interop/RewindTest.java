package taskhub.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.microsoft.durabletask.NewOrchestrationInstanceOptions;
import com.microsoft.durabletask.OrchestrationMetadata;
import com.microsoft.durabletask.OrchestrationRuntimeStatus;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Rewind with an SDK that predates it: the 1.5.0 worker ignores executionRewound and answers
 * the rewind episode by failing again; the server then rewinds the history itself (drops the
 * failed results, re-dispatches the failed activities and sub-orchestrations).
 */
class RewindTest extends JavaInteropBase {
  @Test
  void rewindFailedActivity() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("FailOnce");
    assertEquals(OrchestrationRuntimeStatus.FAILED, await(id).getRuntimeStatus());
    Orchestrations.FIXED.add(id);
    rewind(id, "fixed the bug");
    OrchestrationMetadata m = await(id);
    assertEquals(OrchestrationRuntimeStatus.COMPLETED, m.getRuntimeStatus(),
        () -> "failure: " + m.getFailureDetails());
    assertEquals("Hello first!|fixed", m.readOutputAs(String.class));
  }

  @Test
  void rewindFailedSubOrchestration() throws Exception {
    String id = "rewind-parent-" + UUID.randomUUID();
    client.scheduleNewOrchestrationInstance("ParentOfFailing",
        new NewOrchestrationInstanceOptions().setInstanceId(id));
    assertEquals(OrchestrationRuntimeStatus.FAILED, await(id).getRuntimeStatus());
    assertEquals(OrchestrationRuntimeStatus.FAILED,
        client.getInstanceMetadata(id + "-child", false).getRuntimeStatus());
    Orchestrations.FIXED.add(id + "-child");
    rewind(id, "fixed the child");
    OrchestrationMetadata m = await(id);
    assertEquals(OrchestrationRuntimeStatus.COMPLETED, m.getRuntimeStatus(),
        () -> "failure: " + m.getFailureDetails());
    assertEquals("fixed", m.readOutputAs(String.class));
    assertEquals(OrchestrationRuntimeStatus.COMPLETED,
        client.getInstanceMetadata(id + "-child", false).getRuntimeStatus());
  }
}
