#!/usr/bin/env bash
# Google Benchmark for the codec hot paths (parser, serializer, notification encoding).
#   bench/run-codec.sh [extra Google Benchmark flags]
source "$(dirname "$0")/lib.sh"
bench_build schsim_codec_bench
echo "## Codec hot paths (Google Benchmark)"
echo
machine_note
echo
echo "Command: \`bench/run-codec.sh\`"
echo
echo '```'
"$build_dir/bench/schsim_codec_bench" --benchmark_min_time=0.2 "$@" 2>&1 | grep -v '^\*\*\*'
echo '```'
