package taskhub.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.microsoft.durabletask.NewOrchestrationInstanceOptions;
import com.microsoft.durabletask.OrchestrationMetadata;
import com.microsoft.durabletask.OrchestrationRuntimeStatus;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Chaining, fan-out/fan-in, sub-orchestrations, retries, continue-as-new, failures. */
class PatternsTest extends JavaInteropBase {
  @Test
  void chaining() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("Chain");
    OrchestrationMetadata m = await(id);
    assertEquals(OrchestrationRuntimeStatus.COMPLETED, m.getRuntimeStatus());
    assertEquals(List.of("Hello Tokyo!", "Hello Seattle!", "Hello London!"),
        m.readOutputAs(List.class));
  }

  @Test
  void fanOutFanIn() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("FanOut", 100);
    OrchestrationMetadata m = await(id);
    assertEquals(OrchestrationRuntimeStatus.COMPLETED, m.getRuntimeStatus());
    int expected = 0;
    for (int i = 1; i <= 100; i++) expected += i * i;
    assertEquals(expected, m.readOutputAs(Integer.class));
  }

  @Test
  void subOrchestration() throws Exception {
    String id = "parent-" + UUID.randomUUID();
    client.scheduleNewOrchestrationInstance("Parent",
        new NewOrchestrationInstanceOptions().setInstanceId(id));
    assertEquals(3, await(id).readOutputAs(Integer.class));
    OrchestrationMetadata child = client.getInstanceMetadata(id + "-child", true);
    assertEquals(OrchestrationRuntimeStatus.COMPLETED, child.getRuntimeStatus());
  }

  @Test
  void activityRetriedByPolicy() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("Retry");
    OrchestrationMetadata m = await(id);
    assertEquals(OrchestrationRuntimeStatus.COMPLETED, m.getRuntimeStatus());
    assertEquals("succeeded on attempt 3", m.readOutputAs(String.class));
  }

  @Test
  void continueAsNew() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("Counter", 0);
    OrchestrationMetadata m = await(id);
    assertEquals(OrchestrationRuntimeStatus.COMPLETED, m.getRuntimeStatus());
    assertEquals(5, m.readOutputAs(Integer.class));
  }

  @Test
  void failedActivityFailsOrchestrationWithDetails() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("FailOnce");
    OrchestrationMetadata m = await(id);
    assertEquals(OrchestrationRuntimeStatus.FAILED, m.getRuntimeStatus());
    assertTrue(m.getFailureDetails().getErrorMessage().contains("not fixed yet"),
        m.getFailureDetails().getErrorMessage());
  }

  @Test
  void unknownOrchestrationFails() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("NoSuchOrchestration");
    assertEquals(OrchestrationRuntimeStatus.FAILED, await(id).getRuntimeStatus());
  }
}
