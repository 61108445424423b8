// The Android demo: `:core` is the plain-Java condenser (tokenizer, selection, bundle reader),
// the same code that android_demo/core/build.sh compiles and tests with javac + JUnit;
// `:app` is the Kotlin app over it (LiteRT for the model, gRPC for the server).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "splitinfer-android-demo"
include(":core", ":app")
