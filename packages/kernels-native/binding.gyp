{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": ["-std=c++17", "-O3", "-fPIC", "-fexceptions", "-fno-math-errno"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"]
  },
  "targets": [
    {
      "target_name": "kernels_scalar",
      "type": "static_library",
      "sources": ["native/isa-scalar.cc"]
    },
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["native/isa-avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c"]
    },
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": ["native/isa-avx512.cc"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq",
                    "-mavx512vnni", "-mavx512bf16", "-mavx512vbmi", "-mprefer-vector-width=512",
                    "-Wno-uninitialized", "-Wno-maybe-uninitialized"]
    },
    {
      "target_name": "gptoss_kernels",
      "dependencies": ["kernels_scalar", "kernels_avx2", "kernels_avx512"],
      "sources": [
        "native/addon.cc",
        "native/cpu-features.cc",
        "native/dispatch.cc",
        "native/thread-pool.cc",
        "native/shared-ops.cc",
        "native/mapped-file.cc",
        "native/model.cc",
        "native/model-binding.cc",
        "native/ops.cc",
        "native/op-profile.cc"
      ]
    }
  ]
}
