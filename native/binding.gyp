{
  "targets": [
    {
      "target_name": "ulmfit_native",
      "sources": ["src/threads.cc", "src/gemm.cc", "src/lstm.cc", "src/optim.cc", "src/reduce.cc", "src/napi.cc"],
      "cflags_cc": ["-O3", "-std=c++20", "-fno-math-errno", "-ffp-contract=off"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++14", "-fno-exceptions"],
      "defines": [
        "NAPI_VERSION=8",
        "ULMFIT_ABI_VERSION=<!(node -p \"require('./abi.json').version\")",
        "ULMFIT_CACHE_SLOTS=<!(node -p \"require('./abi.json').cacheSlots\")"
      ]
    }
  ]
}
