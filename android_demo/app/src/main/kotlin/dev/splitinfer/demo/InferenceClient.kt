package dev.splitinfer.demo

import dev.splitinfer.v1.GenerateFinal
import dev.splitinfer.v1.GenerateRequest
import dev.splitinfer.v1.GenerateResponse
import dev.splitinfer.v1.InferenceGrpc
import io.grpc.ManagedChannel
import io.grpc.Metadata
import io.grpc.Status
import io.grpc.okhttp.OkHttpChannelBuilder
import io.grpc.stub.ClientCallStreamObserver
import io.grpc.stub.ClientResponseObserver
import io.grpc.stub.MetadataUtils
import java.io.Closeable
import java.util.concurrent.TimeUnit

/**
 * A gRPC client of the splitinfer server, over one OkHttp channel, set up like the Python SDK's
 * (sdk/_channel.py): keepalive pings every 60 s during calls (the server welcomes them), a
 * connection unused for 30 s closed so that the next call does not wait on one that died while
 * idle (another network, a NAT that forgot it), retries of UNAVAILABLE through the service config
 * with backoff, gzip on requests, a deadline on every call, and `authorization: Bearer <token>`
 * when a token is given.
 *
 * [generate] streams one answer; the returned [Call] cancels it, and the cancellation reaches the
 * server, which stops the model within one chunk. [Listener] callbacks run on a gRPC thread.
 */
class InferenceClient(
    val target: String,
    val token: String,
    val plaintext: Boolean = true,
) : Closeable {
    private val channel: ManagedChannel = OkHttpChannelBuilder.forTarget(target)
        .apply { if (plaintext) usePlaintext() else useTransportSecurity() }
        .keepAliveTime(60, TimeUnit.SECONDS)
        .keepAliveTimeout(20, TimeUnit.SECONDS)
        .keepAliveWithoutCalls(false)
        .idleTimeout(30, TimeUnit.SECONDS)
        .defaultServiceConfig(SERVICE_CONFIG)
        .enableRetry()
        .userAgent("splitinfer-android-demo")
        .build()

    /** What a streamed answer reports. */
    interface Listener {
        fun onChunk(text: String)
        fun onFinal(result: GenerateFinal)
        fun onError(status: Status)
        fun onCompleted()
    }

    /** A call in flight. */
    fun interface Call {
        fun cancel()
    }

    fun generate(request: GenerateRequest, deadlineMillis: Long, listener: Listener): Call {
        var stub = InferenceGrpc.newStub(channel)
            .withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS)
            .withCompression("gzip")
        if (token.isNotEmpty()) {
            val headers = Metadata().apply { put(AUTHORIZATION, "Bearer $token") }
            stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        }
        val observer = object : ClientResponseObserver<GenerateRequest, GenerateResponse> {
            @Volatile var requestStream: ClientCallStreamObserver<GenerateRequest>? = null

            override fun beforeStart(requestStream: ClientCallStreamObserver<GenerateRequest>) {
                this.requestStream = requestStream
            }

            override fun onNext(response: GenerateResponse) {
                when (response.kindCase) {
                    GenerateResponse.KindCase.CHUNK -> listener.onChunk(response.chunk.text)
                    GenerateResponse.KindCase.FINAL -> listener.onFinal(response.final)
                    else -> Unit
                }
            }

            override fun onError(t: Throwable) = listener.onError(Status.fromThrowable(t))

            override fun onCompleted() = listener.onCompleted()
        }
        stub.generate(request, observer)
        return Call { observer.requestStream?.cancel("cancelled by the app", null) }
    }

    override fun close() {
        channel.shutdownNow()
    }

    companion object {
        private val AUTHORIZATION: Metadata.Key<String> =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER)

        // The SDK's retry policy (sdk/_channel.py); JSON numbers are Doubles for grpc-java.
        private val SERVICE_CONFIG: Map<String, Any> = mapOf(
            "methodConfig" to listOf(
                mapOf(
                    "name" to listOf(mapOf("service" to "splitinfer.v1.Inference")),
                    "retryPolicy" to mapOf(
                        "maxAttempts" to 5.0,
                        "initialBackoff" to "0.2s",
                        "maxBackoff" to "2s",
                        "backoffMultiplier" to 2.0,
                        "retryableStatusCodes" to listOf("UNAVAILABLE"),
                    ),
                ),
            ),
            "retryThrottling" to mapOf("maxTokens" to 10.0, "tokenRatio" to 0.1),
        )
    }
}
