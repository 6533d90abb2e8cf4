// For guest programs that work in a fresh directory on tmpfs: /dev/shm when it exists (the
// host's tmpfs under qemu), else /tmp (Lichen's tmpfs), so that both runs see one filesystem type.
#ifndef LICHEN_GUEST_TMPDIR_H
#define LICHEN_GUEST_TMPDIR_H
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/** Makes the directory PREFIXxxxxxx on tmpfs, enters it and leaves its path in `path`; exits 1 when it cannot. */
static inline void enter_tmpdir(const char *prefix, char path[64]) {
  struct stat st;
  snprintf(path, 64, "%s/%sXXXXXX", stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp", prefix);
  if (!mkdtemp(path) || chdir(path) != 0) {
    perror("mkdtemp");
    exit(1);
  }
}
#endif
