package taskhub.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.microsoft.durabletask.NewOrchestrationInstanceOptions;
import com.microsoft.durabletask.OrchestrationMetadata;
import com.microsoft.durabletask.OrchestrationRuntimeStatus;
import com.microsoft.durabletask.OrchestrationStatusQuery;
import com.microsoft.durabletask.OrchestrationStatusQueryResult;
import com.microsoft.durabletask.PurgeInstanceCriteria;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Terminate, suspend/resume, restart, purge (by id and by filter), query paging. */
class ManagementTest extends JavaInteropBase {
  @Test
  void terminate() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("WaitEvent");
    client.waitForInstanceStart(id, Duration.ofSeconds(10));
    client.terminate(id, "enough");
    OrchestrationMetadata m = await(id);
    assertEquals(OrchestrationRuntimeStatus.TERMINATED, m.getRuntimeStatus());
    assertEquals("enough", m.readOutputAs(String.class));
  }

  @Test
  void suspendAndResume() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("WaitEvent");
    client.waitForInstanceStart(id, Duration.ofSeconds(10));
    client.suspendInstance(id, "pause");
    awaitStatus(id, OrchestrationRuntimeStatus.SUSPENDED);
    client.raiseEvent(id, "approval", "while-suspended");
    // The event is held while suspended: still SUSPENDED after its episode.
    awaitStatus(id, OrchestrationRuntimeStatus.SUSPENDED);
    client.resumeInstance(id, "go on");
    assertEquals("approved:while-suspended", await(id).readOutputAs(String.class));
  }

  @Test
  void restart() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("Echo", "again");
    await(id);
    String sameId = client.restartInstance(id, false);
    assertEquals(id, sameId);
    assertEquals("again", await(sameId).readOutputAs(String.class));
    String newId = client.restartInstance(id, true);
    assertNotEquals(id, newId);
    assertEquals("again", await(newId).readOutputAs(String.class));
  }

  @Test
  void purgeById() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("Echo", "x");
    await(id);
    assertEquals(1, client.purgeInstance(id).getDeletedInstanceCount());
    assertFalse(client.getInstanceMetadata(id, false).isInstanceFound());
    assertEquals(0, client.purgeInstance(id).getDeletedInstanceCount());
  }

  @Test
  void purgeRunningInstanceDeletesNothing() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("WaitEvent");
    client.waitForInstanceStart(id, Duration.ofSeconds(10));
    assertEquals(0, client.purgeInstance(id).getDeletedInstanceCount());
    assertTrue(client.getInstanceMetadata(id, false).isInstanceFound());
    client.terminate(id, null);
  }

  @Test
  void purgeByFilter() throws Exception {
    Instant from = Instant.now();
    List<String> ids = List.of(client.scheduleNewOrchestrationInstance("Echo", "1"),
        client.scheduleNewOrchestrationInstance("Echo", "2"),
        client.scheduleNewOrchestrationInstance("Echo", "3"));
    for (String id : ids) await(id);
    PurgeInstanceCriteria criteria = new PurgeInstanceCriteria().setCreatedTimeFrom(from)
        .setRuntimeStatusList(List.of(OrchestrationRuntimeStatus.COMPLETED))
        .setTimeout(Duration.ofSeconds(10));
    assertTrue(client.purgeInstances(criteria).getDeletedInstanceCount() >= 3);
    for (String id : ids) assertFalse(client.getInstanceMetadata(id, false).isInstanceFound());
  }

  @Test
  void queryPaging() throws Exception {
    String prefix = "page-" + UUID.randomUUID() + "-";
    Set<String> started = new HashSet<>();
    for (int i = 0; i < 12; i++) {
      started.add(client.scheduleNewOrchestrationInstance("Echo",
          new NewOrchestrationInstanceOptions().setInstanceId(prefix + i).setInput("v" + i)));
    }
    for (String id : started) await(id);
    Set<String> seen = new HashSet<>();
    String token = null;
    int pages = 0;
    do {
      OrchestrationStatusQuery q = new OrchestrationStatusQuery().setInstanceIdPrefix(prefix)
          .setMaxInstanceCount(5).setFetchInputsAndOutputs(true).setContinuationToken(token);
      OrchestrationStatusQueryResult r = client.queryInstances(q);
      for (OrchestrationMetadata m : r.getOrchestrationState()) {
        assertTrue(seen.add(m.getInstanceId()), "seen twice: " + m.getInstanceId());
        assertEquals(OrchestrationRuntimeStatus.COMPLETED, m.getRuntimeStatus());
      }
      assertTrue(r.getOrchestrationState().size() <= 5);
      token = r.getContinuationToken();
      pages++;
    } while (token != null && !token.isEmpty() && pages < 10);
    assertEquals(started, seen);
    assertEquals(3, pages);
  }

  @Test
  void queryByStatus() throws Exception {
    String id = client.scheduleNewOrchestrationInstance("WaitEvent");
    client.waitForInstanceStart(id, Duration.ofSeconds(10));
    OrchestrationStatusQueryResult r = client.queryInstances(new OrchestrationStatusQuery()
        .setRuntimeStatusList(List.of(OrchestrationRuntimeStatus.RUNNING))
        .setMaxInstanceCount(1000));
    assertTrue(r.getOrchestrationState().stream().anyMatch(m -> m.getInstanceId().equals(id)));
    client.terminate(id, null);
    await(id);
  }

  @Test
  void unknownInstance() throws Exception {
    assertFalse(client.getInstanceMetadata("no-such-instance", false).isInstanceFound());
    assertEquals(0, client.purgeInstance("no-such-instance").getDeletedInstanceCount());
  }

  private static void awaitStatus(String id, OrchestrationRuntimeStatus want) throws Exception {
    Instant deadline = Instant.now().plusSeconds(10);
    OrchestrationRuntimeStatus s;
    while ((s = client.getInstanceMetadata(id, false).getRuntimeStatus()) != want) {
      if (Instant.now().isAfter(deadline)) throw new AssertionError(id + " is " + s);
      Thread.sleep(20);
    }
  }
}
