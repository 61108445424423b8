package dev.splitinfer.demo

import android.content.Context
import java.io.File
import java.io.FileNotFoundException
import java.io.IOException

/**
 * The condenser bundle shipped in the APK's assets, as a file in app storage.
 *
 * core's bundle reader and LiteRT's memory-mapping both want a file, and an asset is not one,
 * so the asset is copied once (again after an app update, which may ship a new bundle) to
 * no-backup storage. The copy goes through a temporary file and a rename, so a kill mid-copy
 * never leaves a truncated bundle behind; the reader would refuse one anyway (sha256).
 */
object BundleAsset {
    const val NAME = "condenser.tflite"

    fun file(context: Context): File {
        val target = File(context.noBackupFilesDir, NAME)
        val installed = context.packageManager.getPackageInfo(context.packageName, 0).lastUpdateTime
        if (target.isFile && target.lastModified() >= installed) {
            return target
        }
        val partial = File(context.noBackupFilesDir, "$NAME.partial")
        try {
            context.assets.open(NAME).use { input -> partial.outputStream().use { input.copyTo(it) } }
        } catch (e: FileNotFoundException) {
            throw IOException(
                "$NAME is not in the app's assets: run 'make model' in the repository (it writes " +
                    "sdk/assets/$NAME), then rebuild the app",
            )
        }
        if (!partial.renameTo(target)) {
            throw IOException("cannot move $partial to $target")
        }
        return target
    }
}
