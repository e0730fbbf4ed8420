#!/usr/bin/env bash
# Builds the bundle that native-build/gpu-check.sh runs on the GPU machine, which has neither Maven nor
# (usually) Java: .gpu/ in the repository root (git-ignored) holding the jar (with kernels when nvcc is
# here), the compiled tests, the JUnit console launcher, a jlinked Java 25 runtime and the commit id.
# The device tool carries .gpu/ as an ignored path, so the bundle must stay well under its 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
export PATH="$JAVA_HOME/bin:$PATH"
limit_mib=60
junit_console=org.junit.platform:junit-platform-console-standalone:1.14.1

mvn -q -B -ntp -DskipTests package
rm -rf .gpu && mkdir -p .gpu
# JCuda's runtime PTX compiler JNI library is 24 MB and unused (kernels ship as a prebuilt fatbin).
cp target/jgpt.jar .gpu/jgpt.jar
zip -q -d .gpu/jgpt.jar 'lib/libJNvPTXCompiler-*'
cp -r target/test-classes .gpu/test-classes
mvn -q -B -ntp dependency:copy -Dartifact="$junit_console" -DoutputDirectory=.gpu -Dmdep.stripVersion=true
mv .gpu/junit-platform-console-standalone.jar .gpu/junit-console.jar

# Modules: what jdeps reports for the jar, the tests and JUnit (java.sql pulls in java.logging and
# java.xml, which JUnit's XML reports need) minus java.desktop, which only Jackson's optional java.beans
# support and the roofline PNG touch (it would take the runtime from 44 to 59 MiB, past the bundle's limit, and
# AWT's font rendering needs fonts the GPU machine may lack: `jgpt roofline` draws the PNG on a CPU machine); plus the Vector API, java.management (bench's warm-up watches the JIT through it),
# jdk.unsupported for the libraries' Unsafe fast paths and jdk.zipfs, with which JUnit scans jars for tests.
jlink --add-modules java.base,java.sql,java.management,jdk.unsupported,jdk.incubator.vector,jdk.zipfs \
  --strip-java-debug-attributes --no-man-pages --no-header-files --compress=zip-9 --output .gpu/java 2>&1 \
  | grep -v 'incubator modules' || true
# Temurin ships libjvm.so with its symbol table; the runtime does not need it (saves about 5 MB).
strip --strip-unneeded .gpu/java/lib/server/libjvm.so

# The flash-attention kernels as a standalone program for compute-sanitizer and kernel timing (gpu-check.sh);
# nvcc links the CUDA runtime statically, so the GPU machine needs only its driver.
if command -v nvcc > /dev/null; then
  nvcc -O3 -std=c++17 -Ikernels -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
    -o .gpu/flash-attention-check native-build/flash_attention_check.cu
else
  echo "package-gpu-check: no nvcc: .gpu/flash-attention-check not built (its gpu-check stages will fail)"
fi

# The shared corpora for the tokenizer's comparison with tiktoken (../shared does not travel to the GPU machine).
if [[ -d ../shared/data ]]; then
  mkdir -p .gpu/shared-data && cp ../shared/data/*.txt .gpu/shared-data/
else
  echo "package-gpu-check: no ../shared/data: the tiktoken stage will report no corpora"
fi

{ git rev-parse HEAD 2>/dev/null || echo unknown; } > .gpu/COMMIT
git diff --quiet HEAD 2>/dev/null || echo "(working tree had uncommitted changes)" >> .gpu/COMMIT

size_mib=$(( $(du -sb .gpu | cut -f1) / 1048576 ))
echo "package-gpu-check: .gpu is ${size_mib} MiB (jar $(du -sh .gpu/jgpt.jar | cut -f1), runtime $(du -sh .gpu/java | cut -f1))"
if (( size_mib > limit_mib )); then
  echo "package-gpu-check: bundle exceeds ${limit_mib} MiB" >&2
  exit 1
fi
