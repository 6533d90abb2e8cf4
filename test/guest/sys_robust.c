// fixture: static dynamic O2 -pthread
// Robust futex lists: a thread that dies holding a robust mutex (pthread_mutexattr_setrobust)
// hands the next locker EOWNERDEAD; pthread_mutex_consistent makes the mutex usable again, and
// a mutex unlocked without it becomes ENOTRECOVERABLE. A waiter blocked in the kernel when the
// owner dies is woken. The raw list: set/get_robust_list, and a hand-built list whose owned
// entries (and list_op_pending) get FUTEX_OWNER_DIED when the thread exits.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Shows a call's result and errno (the call runs before errno is read). */
#define SHOW(label, call)                                      \
  do {                                                         \
    errno = 0;                                                 \
    long r_ = (long)(call);                                    \
    int e_ = errno;                                            \
    printf("%s: %ld %s\n", label, r_, strerror(e_));          \
  } while (0)
static pthread_mutex_t m;

static void *die_holding(void *arg) {
  (void)arg;
  pthread_mutex_lock(&m);
  return NULL; // exits with the mutex held
}

static sem_t waiter_started;
static void *lock_and_wait(void *arg) {
  (void)arg;
  sem_post(&waiter_started);
  int r = pthread_mutex_lock(&m);
  printf("blocked waiter: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  if (r == EOWNERDEAD) pthread_mutex_consistent(&m);
  pthread_mutex_unlock(&m);
  return NULL;
}

static void *hold_then_die(void *arg) {
  (void)arg;
  pthread_mutex_lock(&m);
  sem_wait(&waiter_started);
  struct timespec ts = {0, 20000000};
  nanosleep(&ts, NULL); // let the waiter block in FUTEX_WAIT
  return NULL;
}

/* A hand-built robust list: struct robust_list_head and entries whose futex word lies at
 * futex_offset from the list node. */
struct node {
  struct node *next;
  uint32_t futex;
};
static struct {
  struct node *next;
  long futex_offset;
  struct node *pending;
} head;
static struct node a, b, c, p;
static pid_t worker_tid;

static void *raw_list(void *arg) {
  (void)arg;
  pid_t tid = (pid_t)syscall(SYS_gettid);
  worker_tid = tid;
  head.next = &a;
  a.next = &b;
  b.next = &c;
  c.next = (struct node *)&head;
  head.futex_offset = (long)offsetof(struct node, futex);
  head.pending = &p;
  a.futex = (uint32_t)tid;                        // owned
  b.futex = (uint32_t)tid | FUTEX_WAITERS;        // owned, with waiters
  c.futex = 12345;                                // owned by someone else
  p.futex = (uint32_t)tid;                        // pending op, owned
  long r = syscall(SYS_set_robust_list, &head, sizeof head);
  void *got = NULL;
  size_t len = 0;
  long g = syscall(SYS_get_robust_list, 0, &got, &len);
  printf("set_robust_list %ld, get_robust_list %ld same head %d len %zu\n", r, g, got == (void *)&head, len);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  printf("setrobust: %d\n", pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST));
  int rob = -1;
  pthread_mutexattr_getrobust(&at, &rob);
  printf("getrobust: %d\n", rob == PTHREAD_MUTEX_ROBUST);
  printf("init: %d\n", pthread_mutex_init(&m, &at));

  // 1. owner exits holding the mutex; the next locker gets EOWNERDEAD
  pthread_t t;
  pthread_create(&t, NULL, die_holding, NULL);
  pthread_join(t, NULL);
  int r = pthread_mutex_lock(&m);
  printf("lock after owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  printf("consistent: %d\n", pthread_mutex_consistent(&m));
  printf("unlock: %d\n", pthread_mutex_unlock(&m));
  r = pthread_mutex_lock(&m);
  printf("lock again: %d\n", r);
  pthread_mutex_unlock(&m);

  // 2. EOWNERDEAD, unlocked without pthread_mutex_consistent -> ENOTRECOVERABLE
  pthread_create(&t, NULL, die_holding, NULL);
  pthread_join(t, NULL);
  r = pthread_mutex_lock(&m);
  printf("second death: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  pthread_mutex_unlock(&m);
  r = pthread_mutex_lock(&m);
  printf("not made consistent: %s\n", r == ENOTRECOVERABLE ? "ENOTRECOVERABLE" : strerror(r));
  pthread_mutex_destroy(&m);

  // 3. a waiter blocked in the kernel is woken when the owner dies
  pthread_mutex_init(&m, &at);
  pthread_t h, w;
  sem_init(&waiter_started, 0, 0);
  pthread_create(&h, NULL, hold_then_die, NULL);
  usleep(1000); // the holder locks first
  pthread_create(&w, NULL, lock_and_wait, NULL);
  pthread_join(h, NULL);
  pthread_join(w, NULL);
  r = pthread_mutex_trylock(&m);
  printf("trylock after recovery: %d\n", r);
  pthread_mutex_unlock(&m);

  // 4. the raw list walked at thread exit
  pthread_create(&t, NULL, raw_list, NULL);
  pthread_join(t, NULL);
  uint32_t tid = (uint32_t)worker_tid;
  printf("owned entry: OWNER_DIED %d, tid cleared %d\n", (a.futex & FUTEX_OWNER_DIED) != 0,
         (a.futex & FUTEX_TID_MASK) == 0);
  printf("owned entry with waiters: keeps WAITERS %d, OWNER_DIED %d\n", (b.futex & FUTEX_WAITERS) != 0,
         (b.futex & FUTEX_OWNER_DIED) != 0);
  printf("foreign entry untouched: %d\n", c.futex == 12345);
  printf("pending entry: OWNER_DIED %d\n", p.futex == FUTEX_OWNER_DIED);
  (void)tid;
  SHOW("bad length", syscall(SYS_set_robust_list, &head, 7));
  void *got;
  size_t len;
  SHOW("get of no such thread", syscall(SYS_get_robust_list, 999999, &got, &len));
  return 0;
}
