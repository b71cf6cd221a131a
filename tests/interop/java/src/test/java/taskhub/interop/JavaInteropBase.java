package taskhub.interop;

import com.google.protobuf.CodedOutputStream;
import com.microsoft.durabletask.DurableTaskClient;
import com.microsoft.durabletask.DurableTaskGrpcClientBuilder;
import com.microsoft.durabletask.DurableTaskGrpcWorker;
import com.microsoft.durabletask.DurableTaskGrpcWorkerBuilder;
import com.microsoft.durabletask.OrchestrationMetadata;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * One taskhubd, one Java SDK worker (every orchestration of {@link Orchestrations}) and one Java
 * SDK client per test class.
 */
abstract class JavaInteropBase {
  static TaskhubServer server;
  static ManagedChannel workerChannel;
  static ManagedChannel clientChannel;
  static DurableTaskGrpcWorker worker;
  static DurableTaskClient client;

  @BeforeAll
  static void startAll() throws Exception {
    server = TaskhubServer.start();
    workerChannel = channel();
    clientChannel = channel();
    worker = Orchestrations.register(new DurableTaskGrpcWorkerBuilder().grpcChannel(workerChannel))
        .build();
    worker.start();
    client = new DurableTaskGrpcClientBuilder().grpcChannel(clientChannel).build();
  }

  @AfterAll
  static void stopAll() throws Exception {
    if (worker != null) worker.stop();
    if (client != null) client.close();
    for (ManagedChannel c : new ManagedChannel[] {workerChannel, clientChannel}) {
      if (c != null) c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) server.close();
  }

  static ManagedChannel channel() {
    return ManagedChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
  }

  static OrchestrationMetadata await(String id) throws Exception {
    OrchestrationMetadata m = client.waitForInstanceCompletion(id, Duration.ofSeconds(30), true);
    if (m == null) throw new AssertionError("instance " + id + " not found");
    return m;
  }

  // RewindInstance: the 1.5.0 client predates it, so it is called with the SDK's own gRPC
  // runtime and a hand-encoded RewindInstanceRequest {1: instanceId, 2: reason (StringValue)}.
  private static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };
  private static final MethodDescriptor<byte[], byte[]> REWIND =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("TaskHubSidecarService/RewindInstance")
          .setRequestMarshaller(BYTES)
          .setResponseMarshaller(BYTES)
          .build();

  static void rewind(String instanceId, String reason) throws IOException {
    ByteArrayOutputStream wrapper = new ByteArrayOutputStream();
    CodedOutputStream w = CodedOutputStream.newInstance(wrapper);
    w.writeString(1, reason);
    w.flush();
    ByteArrayOutputStream req = new ByteArrayOutputStream();
    CodedOutputStream r = CodedOutputStream.newInstance(req);
    r.writeString(1, instanceId);
    r.writeByteArray(2, wrapper.toByteArray());
    r.flush();
    ClientCalls.blockingUnaryCall(clientChannel, REWIND,
        CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), req.toByteArray());
  }
}
