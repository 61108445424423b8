package dev.splitinfer.demo

import dev.splitinfer.core.Bundle
import dev.splitinfer.core.BundleException
import dev.splitinfer.core.ScoreModel
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.Tensor

/**
 * The condenser's model run by LiteRT: core's [ScoreModel] over an [Interpreter].
 *
 * [open] runs the bundle's flatbuffer, memory-mapped from the bundle file (its first
 * `model_bytes` bytes). Tensors are found by the names the manifest gives and checked against
 * the model I/O contract there, so a wrong bundle fails when the app starts, with a message, not
 * on the first prompt: `context_ids` int32 [1, max_seq_len], `question_ids` int32
 * [1, max_question_len], output float32 [1, max_seq_len].
 *
 * An [Interpreter] is not thread-safe: [score] is synchronized. Close the model when done.
 */
class LiteRtScoreModel private constructor(
    private val interpreter: Interpreter,
    private val contextIndex: Int,
    private val questionIndex: Int,
    private val outputIndex: Int,
    maxSeqLen: Int,
    maxQuestionLen: Int,
) : ScoreModel, AutoCloseable {
    private val context = Array(1) { IntArray(maxSeqLen) }
    private val question = Array(1) { IntArray(maxQuestionLen) }
    private val scores = Array(1) { FloatArray(maxSeqLen) }

    @Synchronized
    override fun score(contextIds: IntArray, questionIds: IntArray): FloatArray {
        contextIds.copyInto(context[0])
        questionIds.copyInto(question[0])
        val inputs = arrayOfNulls<Any>(interpreter.inputTensorCount)
        inputs[contextIndex] = context
        inputs[questionIndex] = question
        interpreter.runForMultipleInputsOutputs(inputs, mapOf<Int, Any>(outputIndex to scores))
        return scores[0].copyOf()
    }

    @Synchronized
    override fun close() {
        interpreter.close()
    }

    companion object {
        private const val REBUILD = "rebuild it with 'splitinfer convert'"

        /** The bundle's model in a LiteRT interpreter with [threads] CPU threads, checked against the contract. */
        fun open(bundle: Bundle, threads: Int = 2): LiteRtScoreModel {
            val name = bundle.file().name
            val interpreter = Interpreter(bundle.mapModel(), Interpreter.Options().setNumThreads(threads))
            try {
                val inputs = bundle.manifest()["inputs"] as? Map<*, *>
                    ?: throw BundleException("$name: manifest 'inputs' must name the model's input tensors; $REBUILD")
                val context = tensorIndex(name, inputs["context_ids"]) { interpreter.getInputIndex(it) }
                val question = tensorIndex(name, inputs["question_ids"]) { interpreter.getInputIndex(it) }
                val output = tensorIndex(name, bundle.manifest()["output"]) { interpreter.getOutputIndex(it) }
                requireShape(name, interpreter.getInputTensor(context), DataType.INT32, bundle.maxSeqLen())
                requireShape(name, interpreter.getInputTensor(question), DataType.INT32, bundle.maxQuestionLen())
                requireShape(name, interpreter.getOutputTensor(output), DataType.FLOAT32, bundle.maxSeqLen())
                return LiteRtScoreModel(interpreter, context, question, output, bundle.maxSeqLen(), bundle.maxQuestionLen())
            } catch (e: Exception) {
                interpreter.close()
                throw e
            }
        }

        private fun tensorIndex(name: String, tensorName: Any?, lookup: (String) -> Int): Int {
            val tensor = tensorName as? String
                ?: throw BundleException("$name: the manifest names no tensor (got $tensorName); $REBUILD")
            return try {
                lookup(tensor)
            } catch (e: IllegalArgumentException) {
                throw BundleException("$name: the model has no tensor '$tensor', the manifest does not match it; $REBUILD")
            }
        }

        private fun requireShape(name: String, tensor: Tensor, type: DataType, length: Int) {
            if (tensor.dataType() != type || !tensor.shape().contentEquals(intArrayOf(1, length))) {
                throw BundleException(
                    "$name: tensor '${tensor.name()}' is ${tensor.dataType()}${tensor.shape().contentToString()}, " +
                        "the contract wants $type[1, $length]; $REBUILD",
                )
            }
        }
    }
}
