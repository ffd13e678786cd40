/*
 * Preloaded by `make asan` right after the sanitizer runtime, into the
 * stock lua5.4 that runs busted. It does two things for that one process.
 *
 * It takes LD_PRELOAD out of the environment. The interpreter is not
 * instrumented, so the ASan runtime has to be preloaded into it; but the
 * suite starts other programs (the emulator through lua5.4, prism through
 * node, curl through sh), and these would inherit LD_PRELOAD: curl then
 * deadlocks in setlocale() before main. By the time this constructor runs,
 * the dynamic loader has already read LD_PRELOAD, so removing it changes
 * nothing here and gives every child a clean environment.
 *
 * It makes dlclose() a no-op, so C modules stay mapped when lua_close()
 * unloads them: LeakSanitizer runs after that, at exit, and can then name
 * the functions of genesiscloud/core.so in its reports instead of printing
 * "<unknown module>". (Preloading core.so itself would keep it mapped too,
 * but loads libcurl's dependencies before main, and p11-kit then hangs in
 * freelocale() at exit under ASan.)
 */
#include <dlfcn.h>
#include <stdlib.h>

__attribute__((constructor)) static void unpreload(void) {
  (void)unsetenv("LD_PRELOAD");
}

int dlclose(void *handle) {
  (void)handle;
  return 0;
}
