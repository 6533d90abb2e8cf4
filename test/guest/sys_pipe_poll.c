// fixture: static dynamic O2
#define _GNU_SOURCE
// Pipes, poll, select, eventfd: EOF after the writer closes, EPIPE/SIGPIPE without readers,
// nonblocking EAGAIN, a pipe filled to capacity, poll/ppoll/select readiness and timeouts,
// a parent/child ping-pong, eventfd counter and semaphore modes.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int p[2];
  pipe(p);
  struct pollfd pf = {p[0], POLLIN, 0};
  printf("poll empty: %d\n", poll(&pf, 1, 0));
  write(p[1], "hi", 2);
  printf("poll data: %d revents=%#x\n", poll(&pf, 1, 0), pf.revents);
  char buf[70000];
  printf("read: %zd\n", read(p[0], buf, sizeof buf));
  close(p[1]);
  printf("poll hup: %d revents=%#x\n", poll(&pf, 1, 0), pf.revents);
  printf("read eof: %zd\n", read(p[0], buf, 1));
  close(p[0]);

  pipe(p);
  close(p[0]);
  signal(SIGPIPE, SIG_IGN);
  errno = 0;
  printf("write no reader: %zd %s\n", write(p[1], "x", 1), strerror(errno));
  close(p[1]);

  pipe2(p, O_NONBLOCK);
  errno = 0;
  printf("nonblock read: %zd %s\n", read(p[0], buf, 1), strerror(errno));
  memset(buf, 'a', sizeof buf);
  ssize_t total = 0, n;
  while ((n = write(p[1], buf, 4096)) > 0) total += n;
  printf("capacity: %zd then %s\n", total, strerror(errno));
  pf.fd = p[1];
  pf.events = POLLOUT;
  printf("poll full for write: %d\n", poll(&pf, 1, 0));
  close(p[0]);
  close(p[1]);

  // ping-pong between processes through two pipes
  int a[2], b[2];
  pipe(a);
  pipe(b);
  pid_t c = fork();
  if (c == 0) {
    char x;
    for (int i = 0; i < 100; i++) {
      read(a[0], &x, 1);
      x++;
      write(b[1], &x, 1);
    }
    _exit(0);
  }
  char x = 0;
  for (int i = 0; i < 100; i++) {
    write(a[1], &x, 1);
    read(b[0], &x, 1);
  }
  waitpid(c, NULL, 0);
  printf("ping-pong: %d\n", x);

  // select with a timeout, then readiness from a child
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(b[0], &rs);
  struct timeval tv = {0, 1000};
  printf("select timeout: %d\n", select(b[0] + 1, &rs, NULL, NULL, &tv));
  c = fork();
  if (c == 0) {
    usleep(1000);
    write(b[1], "!", 1);
    _exit(0);
  }
  FD_ZERO(&rs);
  FD_SET(b[0], &rs);
  printf("select ready: %d isset=%d\n", select(b[0] + 1, &rs, NULL, NULL, NULL), FD_ISSET(b[0], &rs));
  waitpid(c, NULL, 0);
  struct timespec ts = {0, 1000000};
  pf.fd = a[0];
  pf.events = POLLIN;
  printf("ppoll timeout: %d\n", ppoll(&pf, 1, &ts, NULL));

  // a named pipe between two processes
  unlink("/tmp/lichen-fifo");
  printf("mkfifo: %d\n", mkfifo("/tmp/lichen-fifo", 0600));
  c = fork();
  if (c == 0) {
    int w = open("/tmp/lichen-fifo", O_WRONLY);
    write(w, "via fifo", 8);
    _exit(0);
  }
  int rfd = open("/tmp/lichen-fifo", O_RDONLY);
  memset(buf, 0, 16);
  ssize_t got = 0, k;
  while ((k = read(rfd, buf + got, 16 - got)) > 0) got += k;
  printf("fifo read %zd '%.8s'\n", got, buf);
  close(rfd);
  waitpid(c, NULL, 0);
  errno = 0;
  printf("nonblock write open without reader: %d %s\n", open("/tmp/lichen-fifo", O_WRONLY | O_NONBLOCK), strerror(errno));
  unlink("/tmp/lichen-fifo");

  int e = eventfd(3, 0);
  uint64_t v;
  read(e, &v, 8);
  printf("eventfd read %llu\n", (unsigned long long)v);
  v = 5;
  write(e, &v, 8);
  write(e, &v, 8);
  read(e, &v, 8);
  printf("eventfd sum %llu\n", (unsigned long long)v);
  int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
  read(s, &v, 8);
  read(s, &v, 8);
  errno = 0;
  printf("semaphore: %llu then %zd %s\n", (unsigned long long)v, read(s, &v, 8), strerror(errno));
  return 0;
}
