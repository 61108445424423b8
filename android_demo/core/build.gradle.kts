// The plain-Java core, as a Gradle module for the app. The same sources are compiled and tested
// without Gradle by build.sh (javac + JUnit 4), which is what `make test` runs.
plugins {
    `java-library`
}

java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}

dependencies {
    testImplementation(libs.junit)
}

tasks.test {
    // The tests read the golden vectors and the SDK vocabulary from the repository.
    systemProperty("splitinfer.repo", rootProject.projectDir.parentFile.absolutePath)
}
