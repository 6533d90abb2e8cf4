// fixture: static dynamic O2
// AF_UNIX sockets: socketpair stream and datagram, a named listening socket with
// connect/accept between processes, SCM_RIGHTS passing a pipe fd, shutdown and EOF,
// EPIPE with MSG_NOSIGNAL, getsockopt(SO_TYPE), AF_INET refused or allowed is not printed.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int sv[2];
  printf("socketpair: %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  write(sv[0], "ping", 4);
  char buf[64] = {0};
  printf("read %zd '%s'\n", read(sv[1], buf, sizeof buf), buf);
  send(sv[1], "a", 1, 0);
  send(sv[1], "bc", 2, 0);
  memset(buf, 0, sizeof buf);
  printf("stream coalesces: %zd '%s'\n", recv(sv[0], buf, sizeof buf, 0), buf);
  shutdown(sv[1], SHUT_WR);
  printf("eof after shutdown: %zd\n", read(sv[0], buf, sizeof buf));
  close(sv[0]);
  errno = 0;
  printf("send to closed peer: %zd %s\n", send(sv[1], "x", 1, MSG_NOSIGNAL), strerror(errno));
  close(sv[1]);

  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  send(sv[0], "one", 3, 0);
  send(sv[0], "two!", 4, 0);
  printf("dgram 1: %zd\n", recv(sv[1], buf, sizeof buf, 0));
  printf("dgram 2: %zd\n", recv(sv[1], buf, 2, 0));
  int type;
  socklen_t tl = sizeof type;
  getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &tl);
  printf("SO_TYPE dgram: %d\n", type == SOCK_DGRAM);
  close(sv[0]);
  close(sv[1]);

  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strcpy(addr.sun_path, "/tmp/lichen-test.sock");
  unlink(addr.sun_path);
  printf("bind: %d listen: %d\n", bind(srv, (struct sockaddr *)&addr, sizeof addr), listen(srv, 4));
  pid_t p = fork();
  if (p == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&addr, sizeof addr) != 0) _exit(1);
    // pass one end of a pipe with SCM_RIGHTS
    int pp[2];
    pipe(pp);
    write(pp[1], "through fd", 10);
    close(pp[1]);
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    char ctl[CMSG_SPACE(sizeof(int))];
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &pp[0], sizeof(int));
    sendmsg(c, &mh, 0);
    write(c, "hello server", 12);
    _exit(0);
  }
  int conn = accept(srv, NULL, NULL);
  printf("accepted: %d\n", conn >= 0);
  char byte;
  struct iovec iov = {&byte, 1};
  char ctl[CMSG_SPACE(sizeof(int))];
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  printf("recvmsg: %zd byte=%c\n", recvmsg(conn, &mh, 0), byte);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  int passed = -1;
  if (cm && cm->cmsg_type == SCM_RIGHTS) memcpy(&passed, CMSG_DATA(cm), sizeof(int));
  memset(buf, 0, sizeof buf);
  printf("passed fd reads: %zd '%s'\n", read(passed, buf, sizeof buf), buf);
  memset(buf, 0, sizeof buf);
  ssize_t n, total = 0;
  while ((n = read(conn, buf + total, sizeof buf - total)) > 0) total += n;
  printf("server got '%s'\n", buf);
  waitpid(p, NULL, 0);
  unlink(addr.sun_path);
  return 0;
}
