#!/usr/bin/env bash
# Compile android_demo/core with javac (Java 17) and run its JUnit 4 tests, no Gradle needed.
#
#   android_demo/core/build.sh          compile, then run every *Test class
#   android_demo/core/build.sh compile  compile only (main and test sources)
#   android_demo/core/build.sh bench    time Condenser.condense on 2,000 words (CoreBench)
#   android_demo/core/build.sh differential
#                                       compile main and DifferentialMain only (no JUnit, no Java 8
#                                       check), then run it: JSON cases on stdin, one JSON line of
#                                       results per case on stdout (android_demo/golden/differential.py)
#
# JUnit 4 comes from Debian's junit4 package (/usr/share/java/junit4.jar + hamcrest.jar); when
# it is missing and we are root, it is installed with apt-get (after an apt-get update if the
# first try fails). Classes go to a fresh temporary directory, removed on exit, so concurrent
# runs do not trip over each other. Tests find the repository through -Dsplitinfer.repo.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODE="${1:-test}"
JUNIT_JAR=/usr/share/java/junit4.jar
HAMCREST_JAR=/usr/share/java/hamcrest.jar

die() { echo "build.sh: $*" >&2; exit 1; }

command -v javac >/dev/null || die "javac not found: install a JDK 17 (apt-get install -y openjdk-17-jdk-headless)"

ensure_junit() {
  [[ -f "$JUNIT_JAR" && -f "$HAMCREST_JAR" ]] && return 0
  if [[ "$(id -u)" != 0 ]]; then
    die "JUnit 4 is missing ($JUNIT_JAR); install it as root: apt-get install -y junit4"
  fi
  echo "build.sh: installing Debian's junit4 package" >&2
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -o DPkg::Lock::Timeout=300 -y -q)
  if ! "${apt[@]}" install junit4 >&2; then
    "${apt[@]}" update >&2 && "${apt[@]}" install junit4 >&2 || die "apt-get could not install junit4"
  fi
  [[ -f "$JUNIT_JAR" && -f "$HAMCREST_JAR" ]] || die "junit4 installed but $JUNIT_JAR or $HAMCREST_JAR is missing"
}

OUT="$(mktemp -d "${TMPDIR:-/tmp}/splitinfer-core.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$OUT/main" "$OUT/test"

cd "$HERE"
mapfile -t MAIN_SOURCES < <(find src/main/java -name '*.java' | sort)
javac --release 17 -encoding UTF-8 -Xlint:all -Werror -d "$OUT/main" "${MAIN_SOURCES[@]}"
cp -R src/main/resources/. "$OUT/main/"
if [[ "$MODE" == differential ]]; then
  DIFF_SOURCES=(src/test/java/dev/splitinfer/core/{DifferentialMain,HashScores,SplitMix}.java)
  javac --release 17 -encoding UTF-8 -Xlint:all -Werror -d "$OUT/test" -cp "$OUT/main" "${DIFF_SOURCES[@]}"
  java -Dsplitinfer.repo="$ROOT" -cp "$OUT/test:$OUT/main" dev.splitinfer.core.DifferentialMain
  exit $?
fi
# Android (minSdk 26) has the Java 8 class library plus a few later APIs: compiling core against
# Java 8's catches a List.of or String.repeat that would crash on a phone but pass here.
mkdir -p "$OUT/java8"
javac --release 8 -encoding UTF-8 -Xlint:-options -Werror -d "$OUT/java8" "${MAIN_SOURCES[@]}"

ensure_junit
CP="$OUT/main:$JUNIT_JAR:$HAMCREST_JAR"
mapfile -t TEST_SOURCES < <(find src/test/java -name '*.java' | sort)
javac --release 17 -encoding UTF-8 -Xlint:all -Werror -d "$OUT/test" -cp "$CP" "${TEST_SOURCES[@]}"
[[ "$MODE" == compile ]] && { echo "build.sh: compiled"; exit 0; }
if [[ "$MODE" == bench ]]; then
  java -Dsplitinfer.repo="$ROOT" -cp "$OUT/test:$CP" dev.splitinfer.core.CoreBench
  exit 0
fi
[[ "$MODE" == test ]] || die "unknown mode '$MODE' (use: test, compile, bench, differential)"

mapfile -t TEST_CLASSES < <(find src/test/java -name '*Test.java' | sort \
  | sed -e 's#^src/test/java/##' -e 's#\.java$##' -e 's#/#.#g')
java -Dsplitinfer.repo="$ROOT" -cp "$OUT/test:$CP" dev.splitinfer.core.CoreTestMain "${TEST_CLASSES[@]}"
