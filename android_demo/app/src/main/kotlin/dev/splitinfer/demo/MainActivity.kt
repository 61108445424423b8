package dev.splitinfer.demo

import android.app.Activity
import android.os.Bundle
import android.widget.Button
import android.widget.CheckBox
import android.widget.EditText
import android.widget.SeekBar
import android.widget.TextView
import dev.splitinfer.core.Condenser
import dev.splitinfer.v1.Condensation
import dev.splitinfer.v1.GenerateFinal
import dev.splitinfer.v1.GenerateRequest
import dev.splitinfer.v1.Prompt
import io.grpc.Status
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.Future
import kotlin.math.roundToInt
import dev.splitinfer.core.Bundle as CondenserBundle

/**
 * The demo: condense the context on the phone, send the condensed prompt to the server, stream
 * the answer. Everything about condensing is core's ([Condenser]); this activity only wires the
 * fields, the model ([LiteRtScoreModel]) and the client ([InferenceClient]) together.
 *
 * Condensing, and starting the call (grpc-java serializes and compresses the request on the calling
 * thread), run on one worker thread (the model is loaded there too, and the channel lives there);
 * gRPC callbacks arrive on gRPC threads; views are touched on the UI thread only. Each send has a
 * generation number: a newer send cancels the older call, interrupts the older condensing (core
 * stops before its next model window instead of finishing a context no one waits for), and
 * whatever the older one still posts is dropped, so two answers never mix. Leaving the activity
 * cancels the call.
 *
 * As the Python SDK's client: one deadline ([DEADLINE_MS]) for condensing and the answer; no
 * Condensation message when there was no context to condense; a stream that ends without its
 * final message is an error; a bearer token is never sent in plaintext to a host other than this
 * device (tick TLS).
 */
class MainActivity : Activity() {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()
    @Volatile private var condenser: Condenser? = null
    @Volatile private var modelVersion = ""
    private var scoreModel: LiteRtScoreModel? = null
    private var client: InferenceClient? = null
    private var call: InferenceClient.Call? = null
    private var generation = 0 // UI thread only: the send the views belong to
    private var pending: Future<*>? = null // UI thread only: the worker task of that send

    private lateinit var server: EditText
    private lateinit var token: EditText
    private lateinit var tls: CheckBox
    private lateinit var instruction: EditText
    private lateinit var context: EditText
    private lateinit var question: EditText
    private lateinit var rate: SeekBar
    private lateinit var rateLabel: TextView
    private lateinit var send: Button
    private lateinit var answer: TextView
    private lateinit var stats: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        server = findViewById(R.id.server)
        token = findViewById(R.id.token)
        tls = findViewById(R.id.tls)
        instruction = findViewById(R.id.instruction)
        context = findViewById(R.id.context)
        question = findViewById(R.id.question)
        rate = findViewById(R.id.rate)
        rateLabel = findViewById(R.id.rate_label)
        send = findViewById(R.id.send)
        answer = findViewById(R.id.answer)
        stats = findViewById(R.id.stats)

        rate.setOnSeekBarChangeListener(object : SeekBar.OnSeekBarChangeListener {
            override fun onProgressChanged(bar: SeekBar, progress: Int, fromUser: Boolean) = showRate()
            override fun onStartTrackingTouch(bar: SeekBar) = Unit
            override fun onStopTrackingTouch(bar: SeekBar) = Unit
        })
        showRate()
        send.setOnClickListener { send() }
        send.isEnabled = false
        stats.text = getString(R.string.loading)
        worker.execute { loadCondenser() }
    }

    private fun showRate() {
        rateLabel.text = getString(R.string.rate_label, rate.progress)
    }

    private fun loadCondenser() {
        try {
            val bundle = CondenserBundle.read(BundleAsset.file(this))
            val model = LiteRtScoreModel.open(bundle)
            scoreModel = model
            modelVersion = bundle.modelVersion()
            condenser = Condenser.fromBundle(bundle, model)
            val defaultPercent = (bundle.defaultRate() * 100).roundToInt().coerceIn(5, 100) // the SeekBar's range
            onUi {
                rate.progress = defaultPercent // the bundle's default rate, as the SDK's
                stats.text = getString(R.string.ready, modelVersion)
                send.isEnabled = true
            }
        } catch (e: Exception) {
            onUi { stats.text = getString(R.string.load_failed, e.message) }
        }
    }

    private fun send() {
        val condenser = condenser ?: return
        val startedAt = System.nanoTime()
        val target = server.text.toString().trim()
        val bearer = token.text.toString().trim()
        val secure = tls.isChecked
        val system = instruction.text.toString()
        val contextText = context.text.toString()
        val questionText = question.text.toString()
        val keep = rate.progress.coerceAtLeast(1) / 100.0
        if (contextText.isBlank() && questionText.isBlank()) {
            stats.text = getString(R.string.nothing_to_ask)
            return
        }
        if (bearer.isNotEmpty() && !secure && !isLoopback(target)) {
            stats.text = getString(R.string.token_needs_tls)
            return
        }
        call?.cancel()
        call = null
        pending?.cancel(true)
        val mine = ++generation
        answer.text = ""
        stats.text = getString(R.string.condensing)
        pending = worker.submit(Runnable {
            try {
                val prompt = Prompt.newBuilder().setInstruction(system).setQuestion(questionText)
                val request = GenerateRequest.newBuilder()
                var savings = ""
                if (contextText.isBlank()) {
                    // Nothing to condense: no Condensation message, which says "not condensed".
                    request.setPrompt(prompt.setContext(contextText).build())
                } else {
                    val result = condenser.condense(
                        contextText,
                        Condenser.Options.defaults().withRate(keep).withQuestion(questionText),
                    )
                    request.setPrompt(prompt.setContext(result.condensed).build())
                        .setCondensation(
                            Condensation.newBuilder()
                                .setWhere(Condensation.Where.DEVICE)
                                .setOriginalTokens(result.originalTokens)
                                .setCondensedTokens(result.condensedTokens)
                                .setRateRequested(keep.toFloat())
                                .setCondenserVersion(modelVersion)
                                .setCondenseMs(result.ms.toFloat())
                                .build(),
                        )
                    savings = getString(
                        R.string.savings,
                        result.originalTokens,
                        result.condensedTokens,
                        result.tokensSaved(),
                        result.ms,
                    )
                }
                val leftMs = DEADLINE_MS - (System.nanoTime() - startedAt) / 1_000_000
                if (leftMs <= 0) {
                    onUi { if (mine == generation) stats.text = getString(R.string.deadline_passed, savings) }
                    return@Runnable
                }
                onUi { if (mine == generation) stats.text = savings }
                val started = clientFor(target, bearer, secure).generate(request.build(), leftMs, Answer(savings, mine))
                onUi {
                    if (mine == generation) call = started else started.cancel()
                }
            } catch (e: Exception) {
                onUi { if (mine == generation) stats.text = getString(R.string.failed, e.message) }
            }
        })
    }

    /** One channel per server address, token and transport, reused across sends (worker thread only). */
    private fun clientFor(target: String, bearer: String, secure: Boolean): InferenceClient {
        val current = client
        if (current != null && current.target == target && current.token == bearer && current.plaintext == !secure) {
            return current
        }
        current?.close()
        return InferenceClient(target, bearer, plaintext = !secure).also { client = it }
    }

    /** Streams the answer of send [mine] into the view and reports how the call ended. */
    private inner class Answer(private val savings: String, private val mine: Int) : InferenceClient.Listener {
        @Volatile private var finished = false

        override fun onChunk(text: String) = onUi { if (mine == generation) answer.append(text) }

        override fun onFinal(result: GenerateFinal) {
            finished = true
            onUi {
                if (mine == generation) {
                    val usage = result.usage
                    stats.text = getString(
                        R.string.finished, savings, usage.promptTokens, usage.completionTokens, usage.totalMs,
                    )
                }
            }
        }

        override fun onError(status: Status) = onUi {
            if (mine == generation && status.code != Status.Code.CANCELLED) {
                stats.text = getString(R.string.rpc_failed, savings, status.code.name, status.description ?: "")
            }
        }

        override fun onCompleted() {
            if (!finished) {
                onUi { if (mine == generation) stats.text = getString(R.string.no_final, savings) }
            }
        }
    }

    private fun onUi(action: () -> Unit) = runOnUiThread {
        if (!isDestroyed) {
            action()
        }
    }

    override fun onDestroy() {
        call?.cancel()
        pending?.cancel(true)
        worker.execute {
            client?.close()
            scoreModel?.close()
        }
        worker.shutdown()
        super.onDestroy()
    }

    private companion object {
        /** The deadline of a send, condensing included: the Python SDK's default timeout. */
        const val DEADLINE_MS = 60_000L

        /** This device: a token may go there in plaintext (the Python SDK's is_loopback_target). */
        fun isLoopback(target: String): Boolean {
            val host = target.substringBeforeLast(':').removePrefix("[").removeSuffix("]")
            return host == "localhost" || host.startsWith("127.") || host == "::1"
        }
    }
}
