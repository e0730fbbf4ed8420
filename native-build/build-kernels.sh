#!/usr/bin/env bash
# Compiles every kernels/*.cu into one fatbin (SASS for sm_80/86/89/90 plus compute_90 PTX for newer GPUs)
# at $1/jgpt_kernels.fatbin, which Maven puts on the classpath. Without nvcc it says so and succeeds: the
# CPU backend does not need kernels, and `--device cuda` then explains that they were not built.
set -euo pipefail
out_dir=${1:?usage: build-kernels.sh OUT_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
nvcc=${NVCC:-$(command -v nvcc || true)}
if [[ -z "$nvcc" ]]; then
  echo "build-kernels: nvcc not found; skipping CUDA kernels (the CPU backend still works)"
  exit 0
fi
shopt -s nullglob
sources=("$here"/kernels/*.cu)
if (( ${#sources[@]} == 0 )); then
  echo "build-kernels: no kernels/*.cu yet"; exit 0
fi
mkdir -p "$out_dir"
target="$out_dir/jgpt_kernels.fatbin"
# Rebuild only when a kernel source or header is newer than the fatbin.
if [[ -f "$target" ]] && [[ -z "$(find "$here/kernels" -newer "$target" -type f)" ]]; then
  echo "build-kernels: $target is up to date"; exit 0
fi
# One translation unit that includes every kernel file: a single module to load, one set of helpers.
unity=$(mktemp --suffix=.cu)
trap 'rm -f "$unity"' EXIT
for f in "${sources[@]}"; do echo "#include \"$f\"" >> "$unity"; done
gencode=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86
         -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=sm_90
         -gencode arch=compute_90,code=compute_90)
"$nvcc" -fatbin -O3 -std=c++17 -I"$here/kernels" "${gencode[@]}" -o "$target.tmp" "$unity"
mv "$target.tmp" "$target"
echo "build-kernels: wrote $target ($(stat -c %s "$target") bytes) from ${#sources[@]} sources"
