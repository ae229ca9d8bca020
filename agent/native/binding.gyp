{
  "targets": [
    {
      "target_name": "strata_native",
      "sources": ["src/strata_native.c", "src/cdc.c", "src/napi_util.c", "src/jobs.c", "src/small_file.c", "src/malloc_tune.c"],
      "cflags": ["-O3", "-std=c11", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-O2"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
