package dev.splitinfer.demo

import android.app.Activity
import android.os.Bundle
import android.widget.Button
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
import dev.splitinfer.core.Bundle as CondenserBundle

/**
 * The demo: condense the context on the phone, send the condensed prompt to the server, stream
 * the answer. Everything about condensing is core's ([Condenser]); this activity only wires the
 * fields, the model ([LiteRtScoreModel]) and the client ([InferenceClient]) together.
 *
 * Condensing runs on one worker thread (the model is loaded there too); gRPC callbacks arrive on
 * gRPC threads; views are touched on the UI thread only. Leaving the activity cancels the call.
 */
class MainActivity : Activity() {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()
    @Volatile private var condenser: Condenser? = null
    @Volatile private var modelVersion = ""
    private var scoreModel: LiteRtScoreModel? = null
    private var client: InferenceClient? = null
    private var call: InferenceClient.Call? = null

    private lateinit var server: EditText
    private lateinit var token: EditText
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
            onUi {
                stats.text = getString(R.string.ready, modelVersion)
                send.isEnabled = true
            }
        } catch (e: Exception) {
            onUi { stats.text = getString(R.string.load_failed, e.message) }
        }
    }

    private fun send() {
        val condenser = condenser ?: return
        val target = server.text.toString().trim()
        val bearer = token.text.toString().trim()
        val system = instruction.text.toString()
        val contextText = context.text.toString()
        val questionText = question.text.toString()
        val keep = rate.progress.coerceAtLeast(1) / 100.0
        call?.cancel()
        answer.text = ""
        stats.text = getString(R.string.condensing)
        worker.execute {
            try {
                val result = condenser.condense(
                    contextText,
                    Condenser.Options.defaults().withRate(keep).withQuestion(questionText),
                )
                val request = GenerateRequest.newBuilder()
                    .setPrompt(
                        Prompt.newBuilder()
                            .setInstruction(system)
                            .setContext(result.condensed)
                            .setQuestion(questionText)
                            .build(),
                    )
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
                    .build()
                val savings = getString(
                    R.string.savings,
                    result.originalTokens,
                    result.condensedTokens,
                    result.tokensSaved(),
                    result.ms,
                )
                onUi {
                    stats.text = savings
                    call = clientFor(target, bearer).generate(request, DEADLINE_SECONDS, Answer(savings))
                }
            } catch (e: Exception) {
                onUi { stats.text = getString(R.string.failed, e.message) }
            }
        }
    }

    /** One channel per server address and token, reused across sends. */
    private fun clientFor(target: String, bearer: String): InferenceClient {
        val current = client
        if (current != null && current.target == target && current.token == bearer) {
            return current
        }
        current?.close()
        return InferenceClient(target, bearer).also { client = it }
    }

    /** Streams the answer into the view and reports how the call ended. */
    private inner class Answer(private val savings: String) : InferenceClient.Listener {
        override fun onChunk(text: String) = onUi { answer.append(text) }

        override fun onFinal(result: GenerateFinal) = onUi {
            val usage = result.usage
            stats.text = getString(R.string.finished, savings, usage.promptTokens, usage.completionTokens, usage.totalMs)
        }

        override fun onError(status: Status) = onUi {
            if (status.code != Status.Code.CANCELLED) {
                stats.text = getString(R.string.rpc_failed, savings, status.code.name, status.description ?: "")
            }
        }

        override fun onCompleted() = Unit
    }

    private fun onUi(action: () -> Unit) = runOnUiThread {
        if (!isDestroyed) {
            action()
        }
    }

    override fun onDestroy() {
        call?.cancel()
        client?.close()
        worker.execute { scoreModel?.close() }
        worker.shutdown()
        super.onDestroy()
    }

    private companion object {
        const val DEADLINE_SECONDS = 120L
    }
}
