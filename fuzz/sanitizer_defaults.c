/*===- sanitizer_defaults.c - sanitizer options built into build-asan -----===*
 *
 * scripts/sanitize.sh compiles this file and links it into every executable
 * of build-asan/ (CMAKE_EXE_LINKER_FLAGS), so the sanitized tools run right
 * without any environment (ASAN_OPTIONS / UBSAN_OPTIONS still override):
 *  - allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs from
 *    header code inlined into our (instrumented) objects and unpoisons them
 *    in Debian's uninstrumented libLLVM; mixed, that reports a false
 *    use-after-poison as soon as an MLIRContext is created.
 *  - detect_leaks=0: the uninstrumented libraries keep memory until exit.
 *    scripts/fuzz.sh turns leak detection back on for the fuzzers.
 *  - print_stacktrace=1 for UBSan reports.
 *===----------------------------------------------------------------------===*/

const char *__asan_default_options(void) {
  return "allow_user_poisoning=0:detect_leaks=0";
}

const char *__ubsan_default_options(void) {
  return "print_stacktrace=1:halt_on_error=1";
}
