// fixture: static dynamic O2
// AF_INET/AF_INET6 over loopback: TCP echo between a forked child and the parent over
// 127.0.0.1 and ::1, dual-stack (v4-mapped) and IPV6_V6ONLY, UDP round trips with message
// boundaries and truncation, bind/connect/listen/accept error cases, non-blocking connect,
// shutdown (EOF, EPIPE + SIGPIPE), MSG_PEEK/DONTWAIT/WAITALL, poll/epoll readiness, socket
// options, signals interrupting blocking calls, SO_RCVTIMEO/SO_SNDTIMEO, FIONREAD,
// sendmmsg/recvmmsg. Ephemeral ports are printed only as "in range".
// Only the parent prints; children report through the data they send and their exit status.
// `sys_inet noroute`: connect to 10.0.0.1 (Lichen has no route; hosts running qemu may).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(const char *label, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", label, strerror(errno));
  else
    printf("%s: %ld\n", label, r);
}
#define CHECK(label, expr)                                                                                   \
  do {                                                                                                       \
    errno = 0;                                                                                               \
    check(label, (long)(expr));                                                                              \
  } while (0)

static char big_buf[70000];

static int in_range(int port) { return port >= 32768 && port <= 60999; }

static int port_of(int fd) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &l) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf) {
  if (ss->ss_family == AF_INET) return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, 64);
  if (ss->ss_family == AF_INET6) return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, 64);
  snprintf(buf, 64, "family %d", ss->ss_family);
  return buf;
}

static void show_name(const char *label, int fd, int peer) {
  struct sockaddr_storage ss;
  memset(&ss, 0xee, sizeof ss);
  socklen_t l = sizeof ss;
  char b[64];
  errno = 0;
  int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &l) : getsockname(fd, (struct sockaddr *)&ss, &l);
  if (r != 0) {
    printf("%s: -1 %s\n", label, strerror(errno));
    return;
  }
  int port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                     : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  printf("%s: len=%u family=%d addr=%s port=%s\n", label, l, ss.ss_family, addr_str(&ss, b),
         port == 0 ? "0" : in_range(port) ? "ephemeral" : "fixed");
}

static struct sockaddr_in sin4(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}
static struct sockaddr_in6 sin6(const char *ip, int port) {
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
  inet_pton(AF_INET6, ip, &a.sin6_addr);
  return a;
}
#define SA(x) ((struct sockaddr *)&(x))

static int getint(int fd, int level, int opt) {
  int v = -12345;
  socklen_t l = sizeof v;
  if (getsockopt(fd, level, opt, &v, &l) != 0) return -errno;
  return v;
}
static void setint(int fd, int level, int opt, int v) {
  if (setsockopt(fd, level, opt, &v, sizeof v) != 0) printf("setsockopt %d/%d failed: %s\n", level, opt, strerror(errno));
}

/** A listening TCP socket on an ephemeral port of `ip` (family from the address). */
static int listener(int family, const char *ip, int *port) {
  int s = socket(family, SOCK_STREAM, 0);
  int r;
  if (family == AF_INET) {
    struct sockaddr_in a = sin4(ip, 0);
    r = bind(s, SA(a), sizeof a);
  } else {
    struct sockaddr_in6 a = sin6(ip, 0);
    r = bind(s, SA(a), sizeof a);
  }
  if (r != 0 || listen(s, 8) != 0) {
    printf("listener %s failed: %s\n", ip, strerror(errno));
    exit(1);
  }
  *port = port_of(s);
  return s;
}

static int connect_to(int family, const char *ip, int port) {
  int c = socket(family, SOCK_STREAM, 0);
  int r;
  if (family == AF_INET) {
    struct sockaddr_in a = sin4(ip, port);
    r = connect(c, SA(a), sizeof a);
  } else {
    struct sockaddr_in6 a = sin6(ip, port);
    r = connect(c, SA(a), sizeof a);
  }
  if (r != 0) {
    int e = errno;
    close(c);
    errno = e;
    return -1;
  }
  return c;
}

static ssize_t read_full(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) return r < 0 ? r : (ssize_t)got;
    got += r;
  }
  return got;
}

static int child_status(pid_t p) {
  int st = 0;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/** TCP echo: the child connects and sends lines, the parent echoes them back upper-cased. */
static void tcp_echo(int family, const char *ip) {
  printf("-- tcp echo over %s\n", ip);
  int port;
  int l = listener(family, ip, &port);
  printf("listener port in range: %d\n", in_range(port));
  show_name("listener name", l, 0);
  pid_t p = fork();
  if (p == 0) {
    close(l);
    int c = connect_to(family, ip, port);
    if (c < 0) _exit(10);
    const char *msgs[] = {"hello", "world", "a longer third message"};
    for (int i = 0; i < 3; i++) {
      char buf[64];
      size_t n = strlen(msgs[i]);
      if (write(c, msgs[i], n) != (ssize_t)n) _exit(11);
      if (read_full(c, buf, n) != (ssize_t)n) _exit(12);
      for (size_t j = 0; j < n; j++)
        if (buf[j] != (msgs[i][j] >= 'a' && msgs[i][j] <= 'z' ? msgs[i][j] - 32 : msgs[i][j])) _exit(13);
    }
    // report our own port so the parent can compare with getpeername on its side
    int myport = port_of(c);
    if (write(c, &myport, sizeof myport) != sizeof myport) _exit(14);
    shutdown(c, SHUT_WR);
    char b;
    if (read(c, &b, 1) != 0) _exit(15);
    close(c);
    _exit(0);
  }
  struct sockaddr_storage peer;
  socklen_t pl = sizeof peer;
  int a = accept(l, SA(peer), &pl);
  char b[64];
  printf("accepted: %d peer len=%u family=%d addr=%s\n", a >= 0, pl, peer.ss_family, addr_str(&peer, b));
  show_name("accepted sockname", a, 0);
  show_name("accepted peername", a, 1);
  int lens[] = {5, 5, 22};
  for (int i = 0; i < 3; i++) {
    char buf[64] = {0};
    ssize_t n = read_full(a, buf, lens[i]);
    printf("server got %zd '%s'\n", n, buf);
    for (int j = 0; j < n; j++)
      if (buf[j] >= 'a' && buf[j] <= 'z') buf[j] -= 32;
    write(a, buf, n);
  }
  int cport = 0;
  read_full(a, (char *)&cport, sizeof cport);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getpeername(a, SA(ss), &sl);
  int pport = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                      : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  printf("client port in range: %d, equals accepted peer port: %d\n", in_range(cport), cport == pport);
  printf("eof after client SHUT_WR: %zd\n", read(a, b, sizeof b));
  close(a);
  printf("child status %d\n", child_status(p));
  close(l);
}

static void errors(void) {
  printf("-- errors\n");
  int s = socket(AF_INET, SOCK_STREAM, 0);
  show_name("unbound sockname", s, 0);
  show_name("unbound peername", s, 1);
  char b[8];
  CHECK("recv unconnected", recv(s, b, sizeof b, 0));
  CHECK("send unconnected (NOSIGNAL)", send(s, "x", 1, MSG_NOSIGNAL));
  CHECK("shutdown unconnected", shutdown(s, SHUT_RDWR));
  CHECK("accept not listening", accept(s, NULL, NULL));
  struct sockaddr_in a = sin4("127.0.0.1", 0);
  CHECK("bind short len", bind(s, SA(a), 8));
  struct sockaddr_in6 a6 = sin6("::1", 0);
  CHECK("bind v6 addr on v4 socket", bind(s, SA(a6), sizeof a6));
  struct sockaddr_in far = sin4("10.0.0.1", 0);
  CHECK("bind non-local", bind(s, SA(far), sizeof far));
  CHECK("bind 127.0.0.1:0", bind(s, SA(a), sizeof a));
  printf("bound port in range: %d\n", in_range(port_of(s)));
  CHECK("bind again", bind(s, SA(a), sizeof a));
  // nobody listens on a bound, non-listening port
  struct sockaddr_in to = sin4("127.0.0.1", port_of(s));
  int c = socket(AF_INET, SOCK_STREAM, 0);
  CHECK("connect no listener", connect(c, SA(to), sizeof to));
  CHECK("listen after a refused connect", listen(c, 1));
  show_name("its name", c, 0);
  close(c);
  int s2 = socket(AF_INET, SOCK_STREAM, 0);
  CHECK("bind same port", bind(s2, SA(to), sizeof to));
  struct sockaddr_in any = sin4("0.0.0.0", port_of(s));
  CHECK("bind same port on INADDR_ANY", bind(s2, SA(any), sizeof any));
  struct sockaddr_in other = sin4("127.0.0.2", port_of(s));
  CHECK("bind same port on 127.0.0.2", bind(s2, SA(other), sizeof other));
  close(s2);
  close(s);

  // SO_REUSEADDR: two binds share a port until one listens
  int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0), r3 = socket(AF_INET, SOCK_STREAM, 0);
  setint(r1, SOL_SOCKET, SO_REUSEADDR, 1);
  setint(r2, SOL_SOCKET, SO_REUSEADDR, 1);
  setint(r3, SOL_SOCKET, SO_REUSEADDR, 1);
  CHECK("reuse bind 1", bind(r1, SA(a), sizeof a));
  struct sockaddr_in same = sin4("127.0.0.1", port_of(r1));
  CHECK("reuse bind 2", bind(r2, SA(same), sizeof same));
  CHECK("listen 1", listen(r1, 4));
  CHECK("listen 2 (same port)", listen(r2, 4));
  CHECK("reuse bind 3 while listening", bind(r3, SA(same), sizeof same));
  CHECK("connect after listen", (c = connect_to(AF_INET, "127.0.0.1", port_of(r1))) >= 0 ? 0 : -1);
  if (c >= 0) {
    CHECK("connect again", connect(c, SA(same), sizeof same));
    close(c);
  }
  CHECK("connect on listening socket", connect(r1, SA(same), sizeof same));
  CHECK("listen on udp", listen(socket(AF_INET, SOCK_DGRAM, 0), 1));
  close(r1);
  close(r2);
  close(r3);

  c = socket(AF_INET, SOCK_STREAM, 0);
  CHECK("shutdown bad how", shutdown(c, 7));
  CHECK("connect short len", connect(c, SA(same), 4));
  CHECK("socket bad type", socket(AF_INET, 9, 0));
  CHECK("socket bad protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
  CHECK("socket udp proto", socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) >= 0);
  close(c);
  // hostile pointers and lengths
  c = socket(AF_INET, SOCK_STREAM, 0);
  CHECK("bind bad pointer", bind(c, (struct sockaddr *)8, sizeof(struct sockaddr_in)));
  CHECK("bind negative len", bind(c, SA(a), (socklen_t)-1));
  CHECK("connect bad pointer", connect(c, (struct sockaddr *)8, sizeof(struct sockaddr_in)));
  CHECK("getsockname bad len pointer", getsockname(c, SA(a), (socklen_t *)8));
  int iv = 1;
  CHECK("getsockopt bad len pointer", getsockopt(c, SOL_SOCKET, SO_TYPE, &iv, (socklen_t *)8));
  CHECK("setsockopt bad value pointer", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, (void *)8, 4));
  socklen_t neg = (socklen_t)-1;
  CHECK("getsockopt negative len", getsockopt(c, SOL_SOCKET, SO_TYPE, &iv, &neg));
  CHECK("accept4 bad flags", accept4(c, NULL, NULL, 0x40000000));
  close(c);
  int ud = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in lo = sin4("127.0.0.1", 9);
  CHECK("sendto bad buffer", sendto(ud, (void *)8, 10, 0, SA(lo), sizeof lo));
  CHECK("sendto bad address", sendto(ud, "x", 1, 0, (struct sockaddr *)8, sizeof lo));
  CHECK("sendto oversized datagram", sendto(ud, big_buf, 70000, 0, SA(lo), sizeof lo));
  close(ud);
  int pp[2];
  pipe(pp);
  CHECK("getsockname on a pipe", getsockname(pp[0], SA(a), &(socklen_t){16}));
  close(pp[0]);
  close(pp[1]);
  // listen without bind picks an ephemeral port
  int lb = socket(AF_INET, SOCK_STREAM, 0);
  CHECK("listen unbound", listen(lb, 1));
  show_name("listen unbound name", lb, 0);
  close(lb);
}

static void options(void) {
  printf("-- options\n");
  int t = socket(AF_INET, SOCK_STREAM, 0);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  int t6 = socket(AF_INET6, SOCK_STREAM, 0);
  int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
  printf("SO_TYPE %d %d %d %d\n", getint(t, SOL_SOCKET, SO_TYPE), getint(u, SOL_SOCKET, SO_TYPE),
         getint(t6, SOL_SOCKET, SO_TYPE), getint(u6, SOL_SOCKET, SO_TYPE));
  printf("SO_DOMAIN %d %d %d %d\n", getint(t, SOL_SOCKET, SO_DOMAIN), getint(u, SOL_SOCKET, SO_DOMAIN),
         getint(t6, SOL_SOCKET, SO_DOMAIN), getint(u6, SOL_SOCKET, SO_DOMAIN));
  printf("SO_PROTOCOL %d %d %d %d\n", getint(t, SOL_SOCKET, SO_PROTOCOL), getint(u, SOL_SOCKET, SO_PROTOCOL),
         getint(t6, SOL_SOCKET, SO_PROTOCOL), getint(u6, SOL_SOCKET, SO_PROTOCOL));
  printf("SO_ERROR %d SO_ACCEPTCONN %d\n", getint(t, SOL_SOCKET, SO_ERROR), getint(t, SOL_SOCKET, SO_ACCEPTCONN));
  printf("defaults: reuseaddr %d reuseport %d keepalive %d nodelay %d v6only %d\n",
         getint(t, SOL_SOCKET, SO_REUSEADDR), getint(t, SOL_SOCKET, SO_REUSEPORT), getint(t, SOL_SOCKET, SO_KEEPALIVE),
         getint(t, IPPROTO_TCP, TCP_NODELAY), getint(t6, IPPROTO_IPV6, IPV6_V6ONLY));
  printf("default bufs: tcp rcv %d snd %d, udp rcv %d snd %d\n", getint(t, SOL_SOCKET, SO_RCVBUF),
         getint(t, SOL_SOCKET, SO_SNDBUF), getint(u, SOL_SOCKET, SO_RCVBUF), getint(u, SOL_SOCKET, SO_SNDBUF));
  setint(t, SOL_SOCKET, SO_REUSEADDR, 1);
  setint(t, SOL_SOCKET, SO_REUSEPORT, 1);
  setint(t, SOL_SOCKET, SO_KEEPALIVE, 7);
  setint(t, IPPROTO_TCP, TCP_NODELAY, 1);
  setint(t6, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  printf("set: reuseaddr %d reuseport %d keepalive %d nodelay %d v6only %d\n", getint(t, SOL_SOCKET, SO_REUSEADDR),
         getint(t, SOL_SOCKET, SO_REUSEPORT), getint(t, SOL_SOCKET, SO_KEEPALIVE), getint(t, IPPROTO_TCP, TCP_NODELAY),
         getint(t6, IPPROTO_IPV6, IPV6_V6ONLY));
  setint(t, SOL_SOCKET, SO_RCVBUF, 65536);
  setint(t, SOL_SOCKET, SO_SNDBUF, 40000);
  setint(u, SOL_SOCKET, SO_RCVBUF, 1);
  setint(u, SOL_SOCKET, SO_SNDBUF, 1);
  printf("bufs doubled: rcv %d snd %d; minimum: rcv %d snd %d\n", getint(t, SOL_SOCKET, SO_RCVBUF),
         getint(t, SOL_SOCKET, SO_SNDBUF), getint(u, SOL_SOCKET, SO_RCVBUF), getint(u, SOL_SOCKET, SO_SNDBUF));
  struct linger lg = {1, 5}, lg2 = {0, 0};
  socklen_t ll = sizeof lg2;
  CHECK("SO_LINGER set", setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  CHECK("SO_LINGER get", getsockopt(t, SOL_SOCKET, SO_LINGER, &lg2, &ll));
  printf("linger %d %d len %u\n", lg2.l_onoff, lg2.l_linger, ll);
  int v = 1;
  CHECK("setsockopt short len", setsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &v, 2));
  CHECK("getsockopt unknown", getint(t, SOL_SOCKET, 9999) == -ENOPROTOOPT ? 0 : -1);
  CHECK("IPV6_V6ONLY on v4 socket", getint(t, IPPROTO_IPV6, IPV6_V6ONLY) == -EOPNOTSUPP ? 0 : -1);
  CHECK("TCP_NODELAY on udp", getint(u, IPPROTO_TCP, TCP_NODELAY) == -EOPNOTSUPP ? 0 : -1);
  int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  printf("SOCK_NONBLOCK %d SOCK_CLOEXEC %d\n", (fcntl(nb, F_GETFL) & O_NONBLOCK) != 0,
         (fcntl(nb, F_GETFD) & FD_CLOEXEC) != 0);
  close(nb);
  close(t);
  close(u);
  close(t6);
  close(u6);
}

static void nonblocking(void) {
  printf("-- non-blocking connect and accept\n");
  int port;
  int l = listener(AF_INET, "127.0.0.1", &port);
  int fl = fcntl(l, F_GETFL);
  fcntl(l, F_SETFL, fl | O_NONBLOCK);
  CHECK("accept nothing pending", accept(l, NULL, NULL));
  struct pollfd lp = {l, POLLIN, 0};
  CHECK("poll listener idle", poll(&lp, 1, 0));
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin4("127.0.0.1", port);
  CHECK("nonblocking connect", connect(c, SA(a), sizeof a));
  struct pollfd pf = {c, POLLOUT, 0};
  CHECK("poll connecting socket", poll(&pf, 1, 1000));
  printf("revents 0x%x SO_ERROR %d\n", pf.revents, getint(c, SOL_SOCKET, SO_ERROR));
  CHECK("connect after completion", connect(c, SA(a), sizeof a));
  lp.revents = 0;
  CHECK("poll listener pending", poll(&lp, 1, 1000));
  printf("listener revents 0x%x\n", lp.revents);
  int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  printf("accept4 flags: nonblock %d cloexec %d\n", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0,
         (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0);
  char b[16];
  CHECK("recv empty nonblocking", recv(s, b, sizeof b, 0));
  CHECK("recv MSG_DONTWAIT", recv(c, b, sizeof b, MSG_DONTWAIT));
  struct pollfd sp = {s, POLLIN | POLLOUT, 0};
  poll(&sp, 1, 0);
  printf("idle connected revents 0x%x\n", sp.revents);
  // fill the connection without a reader: writes eventually give EAGAIN
  static char big[65536];
  long total = 0;
  ssize_t n;
  while ((n = send(c, big, sizeof big, 0)) > 0) total += n;
  printf("filled: %d (EAGAIN %d)\n", total > 0, errno == EAGAIN);
  sp.fd = c;
  sp.events = POLLOUT;
  CHECK("poll full socket for POLLOUT", poll(&sp, 1, 0));
  long drained = 0;
  while ((n = recv(s, big, sizeof big, 0)) > 0) drained += n;
  printf("drained all: %d\n", drained == total);
  close(s);
  close(c);

  // refused non-blocking connect: a bound, non-listening port
  int b2 = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in any = sin4("127.0.0.1", 0);
  bind(b2, SA(any), sizeof any);
  struct sockaddr_in rf = sin4("127.0.0.1", port_of(b2));
  c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK("nonblocking connect refused", connect(c, SA(rf), sizeof rf));
  pf.fd = c;
  pf.events = POLLIN | POLLOUT;
  pf.revents = 0;
  CHECK("poll refused", poll(&pf, 1, 1000));
  printf("revents 0x%x SO_ERROR %s, then %d\n", pf.revents, strerror(getint(c, SOL_SOCKET, SO_ERROR)),
         getint(c, SOL_SOCKET, SO_ERROR));
  close(c);
  close(b2);
  close(l);
}

static int sigpipes, sigusr;
static void on_pipe(int s) {
  (void)s;
  sigpipes++;
}
static void on_usr(int s) {
  (void)s;
  sigusr++;
}

static void shutdowns(void) {
  printf("-- shutdown, peek, waitall\n");
  int port;
  int l = listener(AF_INET, "127.0.0.1", &port);
  int c = connect_to(AF_INET, "127.0.0.1", port);
  int s = accept(l, NULL, NULL);
  char b[64] = {0};
  send(c, "peekaboo", 8, 0);
  CHECK("MSG_PEEK", recv(s, b, 4, MSG_PEEK));
  CHECK("MSG_PEEK again", recv(s, b, sizeof b, MSG_PEEK));
  CHECK("recv", recv(s, b, sizeof b, 0));
  printf("data '%s'\n", b);
  CHECK("shutdown SHUT_WR", shutdown(c, SHUT_WR));
  struct pollfd pf = {s, POLLIN | POLLOUT | POLLRDHUP, 0};
  poll(&pf, 1, 0);
  printf("server revents after peer SHUT_WR 0x%x\n", pf.revents);
  CHECK("server reads EOF", recv(s, b, sizeof b, 0));
  CHECK("server reads EOF again", read(s, b, sizeof b));
  signal(SIGPIPE, on_pipe);
  CHECK("client send after SHUT_WR", send(c, "x", 1, 0));
  printf("SIGPIPE count %d\n", sigpipes);
  CHECK("client send after SHUT_WR NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
  printf("SIGPIPE count %d\n", sigpipes);
  CHECK("server can still write", send(s, "back", 4, 0));
  memset(b, 0, sizeof b);
  CHECK("client reads", recv(c, b, sizeof b, 0));
  printf("data '%s'\n", b);
  CHECK("client SHUT_RD", shutdown(c, SHUT_RD));
  CHECK("client recv after SHUT_RD", recv(c, b, sizeof b, 0));
  pf.fd = c;
  pf.revents = 0;
  poll(&pf, 1, 0);
  printf("client revents after SHUT_RDWR 0x%x\n", pf.revents);
  pf.fd = s;
  pf.revents = 0;
  poll(&pf, 1, 0);
  printf("server revents 0x%x\n", pf.revents);
  close(c);
  CHECK("server send after peer close (first)", send(s, "y", 1, MSG_NOSIGNAL) >= 0);
  close(s);

  // MSG_WAITALL: the child sends in pieces with pauses
  c = connect_to(AF_INET, "127.0.0.1", port);
  s = accept(l, NULL, NULL);
  pid_t p = fork();
  if (p == 0) {
    for (int i = 0; i < 4; i++) {
      usleep(20000);
      if (send(c, "0123456789", 10, 0) != 10) _exit(1);
    }
    _exit(0);
  }
  close(c);
  memset(b, 0, sizeof b);
  CHECK("MSG_WAITALL 40", recv(s, b, 40, MSG_WAITALL));
  printf("data '%s'\n", b);
  printf("child status %d\n", child_status(p));
  CHECK("eof after child exit", recv(s, b, sizeof b, MSG_WAITALL));
  close(s);

  // large transfer through a small window, checksum
  c = connect_to(AF_INET, "127.0.0.1", port);
  s = accept(l, NULL, NULL);
  p = fork();
  if (p == 0) {
    close(s);
    static char chunk[10000];
    for (int i = 0; i < 100; i++) {
      for (int j = 0; j < (int)sizeof chunk; j++) chunk[j] = (char)(i * 7 + j);
      if (write(c, chunk, sizeof chunk) != sizeof chunk) _exit(1);
    }
    _exit(0);
  }
  close(c);
  unsigned long sum = 0, total = 0;
  static char rb[7777];
  ssize_t n;
  while ((n = read(s, rb, sizeof rb)) > 0) {
    for (ssize_t i = 0; i < n; i++) sum = sum * 31 + (unsigned char)rb[i];
    total += n;
  }
  printf("bulk: %lu bytes, sum %lx, child status %d\n", total, sum, child_status(p));
  close(s);

  // a blocking accept interrupted by a signal without SA_RESTART
  struct sigaction sa = {0};
  sa.sa_handler = on_usr;
  sigaction(SIGUSR1, &sa, NULL);
  p = fork();
  if (p == 0) {
    usleep(30000);
    kill(getppid(), SIGUSR1);
    _exit(0);
  }
  CHECK("accept interrupted", accept(l, NULL, NULL));
  printf("SIGUSR1 count %d, child status %d\n", sigusr, child_status(p));
  // with SA_RESTART the accept goes on and gets the connection the child makes afterwards
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  p = fork();
  if (p == 0) {
    usleep(30000);
    kill(getppid(), SIGUSR1);
    usleep(30000);
    int cc = connect_to(AF_INET, "127.0.0.1", port);
    if (cc < 0) _exit(1);
    write(cc, "R", 1);
    _exit(0);
  }
  s = accept(l, NULL, NULL);
  CHECK("accept restarted", s >= 0);
  CHECK("read from restarted", read(s, b, 1));
  printf("SIGUSR1 count %d, child status %d\n", sigusr, child_status(p));
  close(s);
  close(l);
}

static void epolls(void) {
  printf("-- epoll\n");
  int port;
  int l = listener(AF_INET6, "::1", &port);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  struct epoll_event out[4];
  CHECK("epoll idle", epoll_wait(ep, out, 4, 0));
  int c = connect_to(AF_INET6, "::1", port);
  CHECK("epoll pending connection", epoll_wait(ep, out, 4, 1000));
  int s = accept(l, NULL, NULL);
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u32 = 2;
  epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
  CHECK("epoll no data", epoll_wait(ep, out, 4, 0));
  write(c, "z", 1);
  CHECK("epoll data", epoll_wait(ep, out, 4, 1000));
  printf("event id %u events 0x%x\n", out[0].data.u32, out[0].events);
  char b;
  read(s, &b, 1);
  close(c);
  CHECK("epoll after close", epoll_wait(ep, out, 4, 1000));
  printf("event id %u events 0x%x\n", out[0].data.u32, out[0].events);
  close(s);
  close(l);
  close(ep);
}

static void dualstack(void) {
  printf("-- dual stack\n");
  int port;
  int l = listener(AF_INET6, "::", &port);
  int c = connect_to(AF_INET, "127.0.0.1", port);
  printf("v4 client to [::] listener: %d\n", c >= 0);
  struct sockaddr_storage peer;
  socklen_t pl = sizeof peer;
  int s = accept(l, SA(peer), &pl);
  char b[64];
  printf("accepted peer len=%u family=%d addr=%s\n", pl, peer.ss_family, addr_str(&peer, b));
  show_name("accepted sockname", s, 0);
  close(s);
  close(c);
  c = connect_to(AF_INET6, "::ffff:127.0.0.1", port);
  printf("mapped client to [::] listener: %d\n", c >= 0);
  show_name("mapped client sockname", c, 0);
  s = accept(l, NULL, NULL);
  close(s);
  close(c);
  c = connect_to(AF_INET6, "::1", port);
  printf("v6 client to [::] listener: %d\n", c >= 0);
  s = accept(l, NULL, NULL);
  close(s);
  close(c);
  close(l);

  int l6 = socket(AF_INET6, SOCK_STREAM, 0);
  setint(l6, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  struct sockaddr_in6 any6 = sin6("::", 0);
  bind(l6, SA(any6), sizeof any6);
  listen(l6, 4);
  port = port_of(l6);
  errno = 0;
  c = connect_to(AF_INET, "127.0.0.1", port);
  printf("v4 client to v6only listener: %d %s\n", c >= 0, strerror(errno));
  // v4 and v6only v6 sockets share the port
  int l4 = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in any4 = sin4("0.0.0.0", port);
  CHECK("v4 bind beside v6only", bind(l4, SA(any4), sizeof any4));
  close(l4);
  CHECK("setsockopt V6ONLY after bind", setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &(int){0}, sizeof(int)));
  close(l6);
  // a dual-stack wildcard conflicts with a v4 bind of the same port
  int d = socket(AF_INET6, SOCK_STREAM, 0);
  bind(d, SA(any6), sizeof any6);
  l4 = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in lo4 = sin4("127.0.0.1", port_of(d));
  CHECK("v4 bind beside dual-stack", bind(l4, SA(lo4), sizeof lo4));
  close(l4);
  close(d);
  int v6 = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 far6 = sin6("2001:db8::1", 0);
  CHECK("bind non-local v6", bind(v6, SA(far6), sizeof far6));
  CHECK("bind v6 short len", bind(v6, SA(any6), 20));
  close(v6);
}

static void udp(int family, const char *ip) {
  printf("-- udp over %s\n", ip);
  int a = socket(family, SOCK_DGRAM, 0), b = socket(family, SOCK_DGRAM, 0);
  struct sockaddr_storage sa = {0}, sb = {0};
  socklen_t len;
  if (family == AF_INET) {
    *(struct sockaddr_in *)&sa = sin4(ip, 0);
    len = sizeof(struct sockaddr_in);
  } else {
    *(struct sockaddr_in6 *)&sa = sin6(ip, 0);
    len = sizeof(struct sockaddr_in6);
  }
  CHECK("bind a", bind(a, SA(sa), len));
  socklen_t l2 = sizeof sa;
  getsockname(a, SA(sa), &l2);
  show_name("a name", a, 0);
  char buf[64] = {0};
  CHECK("send unconnected no address", send(b, "x", 1, 0));
  CHECK("sendto a", sendto(b, "first", 5, 0, SA(sa), len));
  CHECK("sendto a again", sendto(b, "second!", 7, 0, SA(sa), len));
  show_name("b autobound", b, 0);
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  CHECK("recvfrom 1", recvfrom(a, buf, sizeof buf, 0, SA(from), &fl));
  char as[64];
  printf("from len=%u family=%d addr=%s matches b: %d\n", fl, from.ss_family, addr_str(&from, as),
         (family == AF_INET ? ntohs(((struct sockaddr_in *)&from)->sin_port)
                            : ntohs(((struct sockaddr_in6 *)&from)->sin6_port)) == port_of(b));
  CHECK("recv 2 truncated", recv(a, buf, 3, 0));
  CHECK("recv nothing (DONTWAIT)", recv(a, buf, sizeof buf, MSG_DONTWAIT));
  sendto(b, "0123456789", 10, 0, SA(sa), len);
  CHECK("recv MSG_PEEK|MSG_TRUNC", recv(a, buf, 4, MSG_PEEK | MSG_TRUNC));
  struct iovec iov = {buf, 4};
  struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
  CHECK("recvmsg truncated", recvmsg(a, &mh, 0));
  printf("msg_flags MSG_TRUNC %d namelen %u\n", (mh.msg_flags & MSG_TRUNC) != 0, mh.msg_namelen);
  CHECK("empty datagram", sendto(b, "", 0, 0, SA(sa), len));
  CHECK("recv empty datagram", recv(a, buf, sizeof buf, 0));
  // connect sets the default peer and filters what b receives
  l2 = sizeof sb;
  getsockname(b, SA(sb), &l2);
  CHECK("connect a to b", connect(a, SA(sb), l2));
  show_name("a peer", a, 1);
  CHECK("send connected", send(a, "reply", 5, 0));
  memset(buf, 0, sizeof buf);
  CHECK("b recv", recv(b, buf, sizeof buf, 0));
  printf("data '%s'\n", buf);
  int c = socket(family, SOCK_DGRAM, 0);
  CHECK("third party sendto connected a", sendto(c, "noise", 5, 0, SA(sa), len));
  CHECK("a ignores third party", recv(a, buf, sizeof buf, MSG_DONTWAIT));
  close(c);
  struct sockaddr unspec = {.sa_family = AF_UNSPEC};
  CHECK("disconnect (AF_UNSPEC)", connect(a, &unspec, sizeof unspec));
  show_name("a peer after disconnect", a, 1);
  // the port came from bind(port 0), so disconnecting releases it (the address stays)
  show_name("a name after disconnect", a, 0);
  close(a);
  a = socket(family, SOCK_DGRAM, 0);
  CHECK("rebind the released port", bind(a, SA(sa), len));
  struct pollfd pf = {a, POLLIN | POLLOUT, 0};
  poll(&pf, 1, 0);
  printf("udp idle revents 0x%x\n", pf.revents);
  // a forked child echoes one datagram
  pid_t p = fork();
  if (p == 0) {
    struct sockaddr_storage f;
    socklen_t ffl = sizeof f;
    char cb[64];
    ssize_t n = recvfrom(a, cb, sizeof cb, 0, SA(f), &ffl);
    if (n <= 0) _exit(1);
    sendto(a, cb, n, 0, SA(f), ffl);
    _exit(0);
  }
  CHECK("sendto child", sendto(b, "echo me", 7, 0, SA(sa), len));
  memset(buf, 0, sizeof buf);
  CHECK("echo back", recv(b, buf, sizeof buf, 0));
  printf("data '%s' child status %d\n", buf, child_status(p));
  // a connected socket towards a port nobody has bound
  struct sockaddr_storage gone = sb;
  close(b);
  int d = socket(family, SOCK_DGRAM, 0);
  CHECK("connect to closed port", connect(d, SA(gone), l2));
  CHECK("send to closed port", send(d, "?", 1, 0));
  usleep(10000);
  CHECK("recv after unreachable", recv(d, buf, sizeof buf, MSG_DONTWAIT));
  CHECK("recv again", recv(d, buf, sizeof buf, MSG_DONTWAIT));
  // the port-unreachable error reaches a connected socket only for its own peer
  int e = socket(family, SOCK_DGRAM, 0);
  struct sockaddr_storage other;
  socklen_t ol = sizeof other;
  sendto(e, "", 0, 0, SA(sa), len);
  getsockname(e, SA(other), &ol);
  close(e);
  CHECK("sendto another closed port from a connected socket", sendto(d, "?", 1, 0, SA(other), ol));
  usleep(10000);
  CHECK("no error for a foreign destination", recv(d, buf, sizeof buf, MSG_DONTWAIT));
  close(d);
  // SO_REUSEADDR lets two UDP sockets share a port
  int r1 = socket(family, SOCK_DGRAM, 0), r2 = socket(family, SOCK_DGRAM, 0);
  CHECK("udp bind same port", bind(r2, SA(sa), len));
  setint(r1, SOL_SOCKET, SO_REUSEADDR, 1);
  setint(r2, SOL_SOCKET, SO_REUSEADDR, 1);
  close(a);
  CHECK("udp reuse bind 1", bind(r1, SA(sa), len));
  CHECK("udp reuse bind 2", bind(r2, SA(sa), len));
  close(r1);
  close(r2);
}

static void udp_dual(void) {
  printf("-- udp dual stack\n");
  int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 any6 = sin6("::", 0);
  bind(s6, SA(any6), sizeof any6);
  int s4 = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = sin4("127.0.0.1", port_of(s6));
  CHECK("v4 sendto [::]", sendto(s4, "v4", 2, 0, SA(to), sizeof to));
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  char buf[16], as[64];
  CHECK("v6 recvfrom", recvfrom(s6, buf, sizeof buf, 0, SA(from), &fl));
  printf("from len=%u family=%d addr=%s\n", fl, from.ss_family, addr_str(&from, as));
  CHECK("v6 reply to mapped", sendto(s6, "v6", 2, 0, SA(from), fl));
  fl = sizeof from;
  CHECK("v4 recvfrom", recvfrom(s4, buf, sizeof buf, 0, SA(from), &fl));
  printf("from len=%u family=%d addr=%s\n", fl, from.ss_family, addr_str(&from, as));
  close(s4);
  close(s6);
}

static void timeouts(void) {
  printf("-- timeouts, FIONREAD\n");
  int port;
  int l = listener(AF_INET, "127.0.0.1", &port);
  struct timeval tv = {0, 50000}, got = {9, 9};
  socklen_t gl = sizeof got;
  CHECK("SO_RCVTIMEO set", setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  CHECK("SO_RCVTIMEO get", getsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &got, &gl));
  printf("timeo %ld.%06ld len %u\n", (long)got.tv_sec, (long)got.tv_usec, gl);
  gl = sizeof got;
  getsockopt(l, SOL_SOCKET, SO_SNDTIMEO, &got, &gl);
  printf("sndtimeo default %ld.%06ld\n", (long)got.tv_sec, (long)got.tv_usec);
  CHECK("accept times out", accept(l, NULL, NULL));
  CHECK("SO_RCVTIMEO short", setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, 8));
  struct timeval bad = {0, 2000000};
  CHECK("SO_RCVTIMEO bad usec", setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad));
  int n = -1;
  CHECK("FIONREAD on listener", ioctl(l, FIONREAD, &n));
  int c = connect_to(AF_INET, "127.0.0.1", port);
  int s = accept(l, NULL, NULL);
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char b[16];
  CHECK("recv times out", recv(s, b, sizeof b, 0));
  CHECK("FIONREAD empty", ioctl(s, FIONREAD, &n));
  printf("FIONREAD %d\n", n);
  send(c, "12345678", 8, 0);
  CHECK("FIONREAD tcp", ioctl(s, FIONREAD, &n));
  printf("FIONREAD %d\n", n);
  CHECK("MSG_WAITALL cut short by the timeout", recv(s, b, sizeof b, MSG_WAITALL));
  // a signal during a timed wait gives EINTR even with SA_RESTART
  struct sigaction sa = {0};
  sa.sa_handler = on_usr;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  struct timeval longer = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &longer, sizeof longer);
  pid_t p = fork();
  if (p == 0) {
    usleep(30000);
    kill(getppid(), SIGUSR1);
    _exit(0);
  }
  CHECK("timed recv interrupted (SA_RESTART)", recv(s, b, sizeof b, 0));
  printf("SIGUSR1 count %d, child status %d\n", sigusr, child_status(p));
  close(c);
  close(s);
  close(l);

  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = sin4("127.0.0.1", 0);
  bind(u, SA(a), sizeof a);
  a = sin4("127.0.0.1", port_of(u));
  setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  CHECK("udp recv times out", recv(u, b, sizeof b, 0));
  sendto(u, "abc", 3, 0, SA(a), sizeof a);
  sendto(u, "defgh", 5, 0, SA(a), sizeof a);
  CHECK("FIONREAD udp", ioctl(u, FIONREAD, &n));
  printf("FIONREAD %d (first datagram)\n", n);
  close(u);

  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  CHECK("unix read times out", read(sv[0], b, sizeof b));
  write(sv[1], "wxyz", 4);
  CHECK("FIONREAD unix", ioctl(sv[0], FIONREAD, &n));
  printf("FIONREAD %d\n", n);
  close(sv[0]);
  close(sv[1]);
}

static void mmsg(void) {
  printf("-- sendmmsg/recvmmsg\n");
  int a = socket(AF_INET6, SOCK_DGRAM, 0), b = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 sa = sin6("::1", 0);
  bind(a, SA(sa), sizeof sa);
  sa = sin6("::1", port_of(a));
  const char *words[] = {"one", "three", "seventeen"};
  struct mmsghdr out[3];
  struct iovec oiov[3];
  memset(out, 0, sizeof out);
  for (int i = 0; i < 3; i++) {
    oiov[i].iov_base = (void *)words[i];
    oiov[i].iov_len = strlen(words[i]);
    out[i].msg_hdr.msg_iov = &oiov[i];
    out[i].msg_hdr.msg_iovlen = 1;
    out[i].msg_hdr.msg_name = &sa;
    out[i].msg_hdr.msg_namelen = sizeof sa;
  }
  CHECK("sendmmsg", sendmmsg(b, out, 3, 0));
  printf("msg_len %u %u %u\n", out[0].msg_len, out[1].msg_len, out[2].msg_len);
  struct mmsghdr in[4];
  char bufs[4][16];
  struct iovec iiov[4];
  memset(in, 0, sizeof in);
  for (int i = 0; i < 4; i++) {
    iiov[i].iov_base = bufs[i];
    iiov[i].iov_len = sizeof bufs[i];
    in[i].msg_hdr.msg_iov = &iiov[i];
    in[i].msg_hdr.msg_iovlen = 1;
  }
  CHECK("recvmmsg MSG_WAITFORONE", recvmmsg(a, in, 4, MSG_WAITFORONE, NULL));
  printf("lens %u %u %u last '%.*s'\n", in[0].msg_len, in[1].msg_len, in[2].msg_len, (int)in[2].msg_len, bufs[2]);
  CHECK("recvmmsg nothing (DONTWAIT)", recvmmsg(a, in, 4, MSG_DONTWAIT, NULL));
  int t = socket(AF_INET, SOCK_STREAM, 0);
  CHECK("sendmmsg on unconnected tcp", sendmmsg(t, out, 1, MSG_NOSIGNAL));
  close(t);
  close(a);
  close(b);
}

static void resets(void) {
  printf("-- resets\n");
  int port;
  int l = listener(AF_INET, "127.0.0.1", &port);
  char b[16];
  // close with unread data sends a reset
  int c = connect_to(AF_INET, "127.0.0.1", port);
  int s = accept(l, NULL, NULL);
  send(s, "unread", 6, 0);
  usleep(10000);
  close(c);
  usleep(10000);
  CHECK("recv after peer closed with unread data", recv(s, b, sizeof b, 0));
  CHECK("recv again", recv(s, b, sizeof b, 0));
  CHECK("send after reset", send(s, "x", 1, MSG_NOSIGNAL));
  close(s);
  // writing to a peer that closed normally: the first write draws a reset, the next fails
  c = connect_to(AF_INET, "127.0.0.1", port);
  s = accept(l, NULL, NULL);
  close(c);
  usleep(10000);
  CHECK("read EOF from closed peer", recv(s, b, sizeof b, 0));
  CHECK("first write to closed peer", send(s, "x", 1, MSG_NOSIGNAL));
  usleep(10000);
  int before = sigpipes;
  CHECK("second write to closed peer", send(s, "x", 1, 0));
  printf("SIGPIPE raised: %d, SO_ERROR after: %d\n", sigpipes - before, getint(s, SOL_SOCKET, SO_ERROR));
  close(s);
  // SO_LINGER {1, 0}: close resets at once
  c = connect_to(AF_INET, "127.0.0.1", port);
  s = accept(l, NULL, NULL);
  struct linger lg = {1, 0};
  setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(c);
  usleep(10000);
  struct pollfd pf = {s, POLLIN | POLLOUT | POLLRDHUP, 0};
  poll(&pf, 1, 0);
  printf("revents after linger-0 close 0x%x\n", pf.revents);
  CHECK("recv after linger-0 close", recv(s, b, sizeof b, 0));
  close(s);
  // a listener closed with a connection it never accepted
  c = connect_to(AF_INET, "127.0.0.1", port);
  close(l);
  usleep(10000);
  CHECK("recv on a connection its listener dropped", recv(c, b, sizeof b, 0));
  close(c);
}

static void full_backlog(void) {
  printf("-- full accept queue\n");
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = sin4("127.0.0.1", 0);
  bind(l, SA(a), sizeof a);
  listen(l, 0);
  int port = port_of(l);
  int c1 = connect_to(AF_INET, "127.0.0.1", port);
  printf("first connect: %d\n", c1 >= 0);
  int c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  a = sin4("127.0.0.1", port);
  CHECK("nonblocking connect to a full queue", connect(c2, SA(a), sizeof a));
  struct pollfd pf = {c2, POLLIN | POLLOUT, 0};
  CHECK("poll while the queue is full", poll(&pf, 1, 100));
  CHECK("connect again while pending", connect(c2, SA(a), sizeof a));
  char b;
  CHECK("recv while pending", recv(c2, &b, 1, 0));
  int s1 = accept(l, NULL, NULL);
  printf("accepted first: %d\n", s1 >= 0);
  pf.revents = 0;
  CHECK("poll after room was made", poll(&pf, 1, 5000));
  printf("revents 0x%x SO_ERROR %d\n", pf.revents, getint(c2, SOL_SOCKET, SO_ERROR));
  CHECK("connect completes", connect(c2, SA(a), sizeof a));
  int s2 = accept(l, NULL, NULL);
  printf("accepted second: %d\n", s2 >= 0);
  write(c2, "2", 1);
  CHECK("data through the late connection", read(s2, &b, 1));
  close(s1);
  close(s2);
  close(c1);
  close(c2);
  // a pending connection whose listener goes away
  c1 = connect_to(AF_INET, "127.0.0.1", port);
  c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK("nonblocking connect to a full queue", connect(c2, SA(a), sizeof a));
  close(l);
  close(c1);
  c1 = -1;
  pf.fd = c2;
  pf.revents = 0;
  CHECK("poll after the listener closed", poll(&pf, 1, 5000));
  printf("revents 0x%x SO_ERROR %s\n", pf.revents, strerror(getint(c2, SOL_SOCKET, SO_ERROR)));
  close(c2);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "noroute") == 0) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = sin4("10.0.0.1", 80);
    CHECK("connect 10.0.0.1", connect(c, SA(a), sizeof a));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK("udp sendto 10.0.0.1", sendto(u, "x", 1, 0, SA(a), sizeof a));
    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = sin6("2001:db8::1", 80);
    CHECK("connect 2001:db8::1", connect(c6, SA(a6), sizeof a6));
    return 0;
  }
  tcp_echo(AF_INET, "127.0.0.1");
  tcp_echo(AF_INET6, "::1");
  errors();
  options();
  nonblocking();
  shutdowns();
  epolls();
  dualstack();
  udp(AF_INET, "127.0.0.1");
  udp(AF_INET6, "::1");
  udp_dual();
  timeouts();
  mmsg();
  resets();
  full_backlog();
  printf("done\n");
  return 0;
}
