import com.google.protobuf.gradle.proto
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.protobuf)
}

// The repository root: the app reads the wire contract and the condenser bundle from there, so
// the phone runs exactly what the Python SDK and the server use.
val repoRoot: File = rootProject.projectDir.parentFile
val condenserAssets = layout.buildDirectory.dir("generated/condenser-assets")

val copyCondenser by tasks.registering(Copy::class) {
    description = "Copies sdk/assets/condenser.tflite (build it with 'make model') into the app's assets."
    from(repoRoot.resolve("sdk/assets/condenser.tflite"))
    into(condenserAssets)
}

android {
    namespace = "dev.splitinfer.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.splitinfer.demo"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets {
        getByName("main") {
            assets.srcDir(condenserAssets)
            proto {
                srcDir(repoRoot.resolve("protos"))
            }
        }
    }

    androidResources {
        // Stored uncompressed: copied to app storage once at first start, then memory-mapped.
        noCompress += "tflite"
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

tasks.named("preBuild") {
    dependsOn(copyCondenser)
}

protobuf {
    protoc {
        artifact = libs.protoc.get().toString()
    }
    plugins {
        create("grpc") {
            artifact = libs.protoc.gen.grpc.java.get().toString()
        }
    }
    generateProtoTasks {
        all().forEach { task ->
            task.builtins {
                create("java") {
                    option("lite")
                }
            }
            task.plugins {
                create("grpc") {
                    option("lite")
                }
            }
        }
    }
}

dependencies {
    implementation(project(":core"))
    implementation(libs.litert)
    implementation(libs.grpc.okhttp)
    implementation(libs.grpc.protobuf.lite)
    implementation(libs.grpc.stub)
    implementation(libs.protobuf.javalite)
    compileOnly(libs.tomcat.annotations)
}
