package taskhub.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.microsoft.durabletask.NewOrchestrationInstanceOptions;
import com.microsoft.durabletask.OrchestrationMetadata;
import com.microsoft.durabletask.OrchestrationRuntimeStatus;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** External events (with and without timeout), durable timers, custom status, scheduled start. */
class EventsTimersTest extends JavaInteropBase {
  @Test
  void externalEvent() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("WaitEvent");
    client.waitForInstanceStart(id, Duration.ofSeconds(10));
    client.raiseEvent(id, "approval", "yes");
    assertEquals("approved:yes", await(id).readOutputAs(String.class));
  }

  @Test
  void eventRaisedBeforeTheFirstEpisodeIsBuffered() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("WaitEvent");
    client.raiseEvent(id, "approval", "early");
    assertEquals("approved:early", await(id).readOutputAs(String.class));
  }

  @Test
  void eventWaitTimesOut() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("WaitEventTimeout");
    assertEquals("timed out", await(id).readOutputAs(String.class));
  }

  @Test
  void durableTimer() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("Timer");
    OrchestrationMetadata m = await(id);
    assertEquals(OrchestrationRuntimeStatus.COMPLETED, m.getRuntimeStatus());
    assertTrue(m.readOutputAs(Long.class) >= 700, "timer fired early: " + m.getSerializedOutput());
  }

  @Test
  void customStatus() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("CustomStatus");
    client.waitForInstanceStart(id, Duration.ofSeconds(10));
    OrchestrationMetadata m = waitForCustomStatus(id, "waiting");
    assertEquals(OrchestrationRuntimeStatus.RUNNING, m.getRuntimeStatus());
    client.raiseEvent(id, "go", null);
    OrchestrationMetadata done = await(id);
    assertEquals("done", done.readCustomStatusAs(String.class));
  }

  @Test
  void scheduledStart() throws Exception {
    Instant start = Instant.now().plusSeconds(2);
    String id = client.scheduleNewOrchestrationInstance("Echo",
        new NewOrchestrationInstanceOptions().setInput("later").setStartTime(start));
    assertEquals(OrchestrationRuntimeStatus.PENDING,
        client.getInstanceMetadata(id, false).getRuntimeStatus());
    OrchestrationMetadata m = await(id);
    assertEquals("later", m.readOutputAs(String.class));
    assertTrue(!m.getLastUpdatedAt().isBefore(start),
        "completed at " + m.getLastUpdatedAt() + ", scheduled for " + start);
  }

  private static OrchestrationMetadata waitForCustomStatus(String id, String want)
      throws Exception {
    // The status is set by the first episode, which waitForInstanceStart already waited for.
    OrchestrationMetadata m = client.getInstanceMetadata(id, true);
    assertEquals(want, m.readCustomStatusAs(String.class));
    return m;
  }
}
