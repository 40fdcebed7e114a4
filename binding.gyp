{
  # levee's optional native spawn helper (native/spawn.c): built at install by native/install.mjs;
  # levee falls back to libuv's spawn when build/Release/levee_spawn.node is missing.
  'targets': [
    {
      'target_name': 'levee_spawn',
      'sources': ['native/spawn.c'],
      'cflags': ['-O2', '-Wall', '-Wextra'],
      # dlsym (glibc 2.34+ has it in libc; older ones need libdl)
      'libraries': ['-ldl'],
    }
  ]
}
