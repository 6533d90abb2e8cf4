// fixture: static dynamic O2 -pthread
// Threads: create/join, mutex counter, condition variable handoff, barrier, rwlock,
// thread-local storage, detached threads, pthread_exit value, exit_group from a thread,
// a sched_yield spin loop waiting for another thread (yield must let the other thread run).
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static __thread int tls = 5;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready;
static pthread_barrier_t bar;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void *adder(void *arg) {
  long id = (long)arg;
  tls = (int)id * 10;
  for (int i = 0; i < 1000; i++) {
    pthread_mutex_lock(&mu);
    counter++;
    pthread_mutex_unlock(&mu);
    if (i % 100 == 0) sched_yield();
  }
  pthread_barrier_wait(&bar);
  return (void *)(long)tls;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  while (!ready) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  pthread_rwlock_rdlock(&rw);
  pthread_rwlock_unlock(&rw);
  pthread_exit((void *)77);
}

static atomic_int flag;

static void *setter(void *arg) {
  (void)arg;
  atomic_store(&flag, 1);
  return NULL;
}

static void *exiter(void *arg) {
  (void)arg;
  usleep(1000);
  printf("exit_group from thread\n");
  exit(4);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_t t[4];
  pthread_barrier_init(&bar, NULL, 4);
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, adder, (void *)(i + 1));
  long sum = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    sum += (long)r;
  }
  printf("counter=%ld tls-sum=%ld main-tls=%d\n", counter, sum, tls);
  pthread_t w;
  pthread_rwlock_wrlock(&rw);
  pthread_create(&w, NULL, waiter, NULL);
  usleep(1000);
  pthread_mutex_lock(&mu);
  ready = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_rwlock_unlock(&rw);
  void *r;
  pthread_join(w, &r);
  printf("waiter returned %ld\n", (long)r);
  pthread_t s;
  pthread_create(&s, NULL, setter, NULL);
  long spins = 0;
  while (!atomic_load(&flag)) {
    sched_yield();
    spins++;
  }
  pthread_join(s, NULL);
  printf("yield loop saw the flag (%s)\n", spins < 1000000 ? "bounded" : "too many spins");
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_t d;
  pthread_create(&d, &at, exiter, NULL);
  for (;;) pause();
}
