{
  "targets": [
    {
      "target_name": "ulmfit_native",
      "sources": ["ulmfit_native.cc"],
      "cflags_cc": ["-O3", "-std=c++20", "-fno-math-errno", "-ffp-contract=off"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++14", "-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
