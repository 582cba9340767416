# The Node addon. Sources and per-ISA flags come from native/sources.json (the list CMake reads too).
# Each ISA group is its own static library so its flags (-mavx512vnni, -march=armv8.2-a+dotprod, ...) reach only
# its files; everything else is built for the architecture's baseline, so one binary runs on any CPU of it.
{
  "target_defaults": {
    "include_dirs": ["native/include"],
    "cflags_cc": ["<!@(node scripts/gyp-sources.js common_flags)", "-O3", "-fvisibility=hidden"],
    "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-fno-exceptions"],
    "cflags!": ["-fno-exceptions"],
    "xcode_settings": {"GCC_ENABLE_CPP_EXCEPTIONS": "YES", "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-ffp-contract=off"]}
  },
  "targets": [
    {
      "target_name": "distiq",
      "sources": [
        "<!@(node scripts/gyp-sources.js core)",
        "<!@(node scripts/gyp-sources.js addon)"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["target_arch=='x64'", {"dependencies": ["distiq_avx2", "distiq_avxvnni", "distiq_avx512", "distiq_avx512vnni", "distiq_amx"]}],
        ["target_arch=='arm64'", {"dependencies": ["distiq_neon", "distiq_neondot", "distiq_i8mm"]}]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {"target_name": "distiq_avx2", "type": "static_library",
         "sources": ["<!@(node scripts/gyp-sources.js avx2)"], "cflags_cc": ["<!@(node scripts/gyp-sources.js avx2 flags)"]},
        {"target_name": "distiq_avxvnni", "type": "static_library",
         "sources": ["<!@(node scripts/gyp-sources.js avxvnni)"], "cflags_cc": ["<!@(node scripts/gyp-sources.js avxvnni flags)"]},
        {"target_name": "distiq_avx512", "type": "static_library",
         "sources": ["<!@(node scripts/gyp-sources.js avx512)"], "cflags_cc": ["<!@(node scripts/gyp-sources.js avx512 flags)"]},
        {"target_name": "distiq_avx512vnni", "type": "static_library",
         "sources": ["<!@(node scripts/gyp-sources.js avx512vnni)"], "cflags_cc": ["<!@(node scripts/gyp-sources.js avx512vnni flags)"]},
        {"target_name": "distiq_amx", "type": "static_library",
         "sources": ["<!@(node scripts/gyp-sources.js amx)"], "cflags_cc": ["<!@(node scripts/gyp-sources.js amx flags)"]}
      ]
    }],
    ["target_arch=='arm64'", {
      "targets": [
        {"target_name": "distiq_neon", "type": "static_library",
         "sources": ["<!@(node scripts/gyp-sources.js neon)"], "cflags_cc": ["<!@(node scripts/gyp-sources.js neon flags)"]},
        {"target_name": "distiq_neondot", "type": "static_library",
         "sources": ["<!@(node scripts/gyp-sources.js neondot)"], "cflags_cc": ["<!@(node scripts/gyp-sources.js neondot flags)"]},
        {"target_name": "distiq_i8mm", "type": "static_library",
         "sources": ["<!@(node scripts/gyp-sources.js i8mm)"], "cflags_cc": ["<!@(node scripts/gyp-sources.js i8mm flags)"]}
      ]
    }]
  ]
}
