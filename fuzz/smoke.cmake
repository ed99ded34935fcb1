# fuzz.smoke (label fuzz): scripts/fuzz configures and builds build-fuzz/ (a second copy of the
# project, clang + libFuzzer + ASan + UBSan) incrementally, then runs every fuzz target over
# its seed corpus (each seed once: a regression run) plus 5 s of fuzzing. A clean full run
# (20 s a target) takes over 5 minutes here, hence the short one. Exit 77 (skip) without
# clang or its fuzzer runtime. One at a time: the build dir is shared (scripts/fuzz also
# takes a lock on it), and `nice` leaves the CPU to the other tests first.
add_test(NAME fuzz.smoke COMMAND nice -n 10 ${PROJECT_SOURCE_DIR}/scripts/fuzz)
set_tests_properties(fuzz.smoke PROPERTIES
  LABELS fuzz
  TIMEOUT 1800
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK agent9_fuzz_build
  ENVIRONMENT "FUZZ_SECS=5")
