// fixture: static
// Pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname, the slave locked until unlockpt
// (EIO), stat and ttyname of the slave, canonical input with echo, erase and kill, VEOF,
// ONLCR on output, raw mode with VMIN=1, window size and SIGWINCH, poll on both ends,
// O_NONBLOCK, SIGINT from ^C to the foreground group of a child session (setsid + open makes
// the slave its controlling terminal, /dev/tty opens it), and the hangup when the master
// closes (SIGHUP, EOF on read, EIO on write, master EIO once the slave is gone); forkpty as
// Python's pty.fork uses it (login_tty: setsid + TIOCSCTTY), the parent reading until EIO.
// Only deterministic results are printed (not the pty number).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void show(const char *what, const char *buf, ssize_t n) {
  printf("%s: %zd \"", what, n);
  for (ssize_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c == '\r') printf("\\r");
    else if (c == '\n') printf("\\n");
    else if (c == '\b') printf("\\b");
    else if (c < 32 || c >= 127) printf("\\x%02x", c);
    else putchar(c);
  }
  printf("\"\n");
}

/* Reads what the master has now (poll with a short wait first). */
static ssize_t drain(int m, char *buf, size_t len) {
  struct pollfd p = {m, POLLIN, 0};
  size_t got = 0;
  while (got < len && poll(&p, 1, 200) == 1 && (p.revents & POLLIN)) {
    ssize_t n = read(m, buf + got, len - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

static int open_pair(int *sfd, char *name, size_t namelen) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0) {
    printf("posix_openpt: %s\n", strerror(errno));
    exit(1);
  }
  printf("grantpt %d\n", grantpt(m));
  const char *pn = ptsname(m);
  snprintf(name, namelen, "%s", pn ? pn : "?");
  printf("ptsname under /dev/pts/: %d\n", strncmp(name, "/dev/pts/", 9) == 0);
  int locked = open(name, O_RDWR | O_NOCTTY);
  printf("open locked slave: %d %s\n", locked, locked < 0 ? strerror(errno) : "");
  printf("unlockpt %d\n", unlockpt(m));
  *sfd = open(name, O_RDWR | O_NOCTTY);
  printf("open slave ok: %d\n", *sfd >= 0);
  return m;
}

/* Whether /dev/pts lists the slave `name`. */
static int listed(const char *name) {
  DIR *d = opendir("/dev/pts");
  struct dirent *e;
  int found = 0;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, name + 9) == 0) found = 1;
  if (d) closedir(d);
  return found;
}

static volatile sig_atomic_t got_winch, got_hup;
static void on_winch(int s) { (void)s; got_winch = 1; }
static void on_hup(int s) { (void)s; got_hup = 1; }

int main(void) {
  char name[64], buf[256];
  int s;
  int m = open_pair(&s, name, sizeof name);

  struct stat st, sn;
  fstat(s, &st);
  stat(name, &sn);
  printf("slave: chr %d major %u uid %u same inode %d\n", S_ISCHR(st.st_mode), major(st.st_rdev), st.st_uid, st.st_ino == sn.st_ino && st.st_dev == sn.st_dev);
  char *tn = ttyname(s);
  printf("ttyname matches: %d isatty %d/%d\n", tn && strcmp(tn, name) == 0, isatty(s), isatty(m));
  char link[64], path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", s);
  ssize_t ln = readlink(path, link, sizeof link - 1);
  link[ln > 0 ? ln : 0] = 0;
  printf("readlink matches: %d\n", strcmp(link, name) == 0);
  int ptn = -1;
  printf("TIOCGPTN %d matches %d\n", ioctl(m, TIOCGPTN, &ptn), atoi(name + 9) == ptn);
  printf("TIOCGPTN bad pointer: %d %s\n", ioctl(m, TIOCGPTN, (void *)8), strerror(errno));
  /* qemu-user gives ENOSYS for ioctls it does not know (Linux: ENOTTY): only the result */
  printf("unknown ioctl: %d\n", ioctl(s, 0x54ff, 0));

  /* defaults */
  struct termios t;
  tcgetattr(s, &t);
  printf("defaults: icanon %d echo %d icrnl %d onlcr %d isig %d vmin %d\n", !!(t.c_lflag & ICANON),
         !!(t.c_lflag & ECHO), !!(t.c_iflag & ICRNL), !!(t.c_oflag & ONLCR), !!(t.c_lflag & ISIG), t.c_cc[VMIN]);

  /* canonical input with echo and erase */
  struct pollfd ps = {s, POLLIN | POLLOUT, 0};
  poll(&ps, 1, 0);
  printf("slave poll empty: in %d out %d\n", !!(ps.revents & POLLIN), !!(ps.revents & POLLOUT));
  write(m, "helo\x7flo\r", 8);
  poll(&ps, 1, 0);
  printf("slave poll line: in %d\n", !!(ps.revents & POLLIN));
  int avail = 0;
  ioctl(s, FIONREAD, &avail);
  printf("FIONREAD %d\n", avail);
  ssize_t n = read(s, buf, sizeof buf);
  show("slave read", buf, n);
  n = drain(m, buf, sizeof buf);
  show("echo", buf, n);
  write(m, "junk\x15ok\n", 8);
  n = read(s, buf, sizeof buf);
  show("after kill", buf, n);
  drain(m, buf, sizeof buf);
  write(m, "ab\x04", 3);
  n = read(s, buf, sizeof buf);
  show("VEOF with data", buf, n);
  write(m, "\x04", 1);
  n = read(s, buf, sizeof buf);
  show("VEOF alone", buf, n);
  drain(m, buf, sizeof buf);
  fcntl(s, F_SETFL, O_NONBLOCK);
  n = read(s, buf, sizeof buf);
  printf("nonblocking empty read: %zd %s\n", n, strerror(errno));
  fcntl(s, F_SETFL, 0);

  /* output processing */
  write(s, "one\ntwo\n", 8);
  n = drain(m, buf, sizeof buf);
  show("ONLCR", buf, n);

  /* raw mode */
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  printf("tcsetattr raw %d\n", tcsetattr(s, TCSANOW, &t));
  write(m, "x\ry", 3);
  n = read(s, buf, sizeof buf);
  show("raw read", buf, n);
  n = drain(m, buf, sizeof buf);
  show("raw echo", buf, n);
  write(s, "a\nb", 3);
  n = drain(m, buf, sizeof buf);
  show("raw output", buf, n);
  struct termios t2;
  tcgetattr(m, &t2);
  printf("master sees raw: %d\n", !(t2.c_lflag & ICANON));

  /* window size */
  signal(SIGWINCH, on_winch);
  struct winsize ws = {0};
  ioctl(s, TIOCGWINSZ, &ws);
  printf("initial winsize %dx%d\n", ws.ws_row, ws.ws_col);
  ws.ws_row = 40;
  ws.ws_col = 100;
  printf("TIOCSWINSZ %d\n", ioctl(m, TIOCSWINSZ, &ws));
  memset(&ws, 0, sizeof ws);
  ioctl(s, TIOCGWINSZ, &ws);
  printf("winsize %dx%d\n", ws.ws_row, ws.ws_col);

  /* master poll: nothing to read, then output */
  struct pollfd pm = {m, POLLIN | POLLOUT, 0};
  poll(&pm, 1, 0);
  printf("master poll empty: in %d out %d\n", !!(pm.revents & POLLIN), !!(pm.revents & POLLOUT));
  write(s, "z", 1);
  poll(&pm, 1, 0);
  printf("master poll data: in %d\n", !!(pm.revents & POLLIN));
  drain(m, buf, sizeof buf);

  /* slave closed: master read EIO, POLLHUP */
  close(s);
  n = read(m, buf, sizeof buf);
  printf("master read, slave closed: %zd %s\n", n, strerror(errno));
  poll(&pm, 1, 0);
  printf("master poll slave closed: hup %d\n", !!(pm.revents & POLLHUP));
  printf("listed in /dev/pts: %d\n", listed(name));
  close(m);
  printf("listed after master close: %d\n", listed(name));

  /* a child session: ^C to its foreground group, then the hangup */
  m = open_pair(&s, name, sizeof name);
  close(s);
  int sync[2];
  pipe(sync);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(m);
    setsid();
    int cs = open(name, O_RDWR);
    signal(SIGHUP, on_hup);
    printf("child: controlling %d\n", tcgetpgrp(cs) == getpid());
    int tty = open("/dev/tty", O_RDWR);
    printf("child: /dev/tty %d\n", tty >= 0);
    /* tcgetsid is TIOCGSID, which qemu-user does not forward: only Lichen runs it */
    if (getenv("LICHEN_ONLY")) printf("child: TIOCGSID is self %d\n", tcgetsid(cs) == getpid());
    fflush(stdout);
    pid_t g = fork();
    if (g == 0) {
      setpgid(0, 0);
      signal(SIGTTOU, SIG_IGN); /* a background group may not set the foreground one */
      tcsetpgrp(cs, getpid());
      write(sync[1], "r", 1);
      pause();
      _exit(0);
    }
    int st2;
    waitpid(g, &st2, 0);
    printf("child: grandchild signaled %d sig %d\n", WIFSIGNALED(st2), WIFSIGNALED(st2) ? WTERMSIG(st2) : 0);
    signal(SIGTTOU, SIG_IGN);
    tcsetpgrp(cs, getpid());
    fflush(stdout);
    write(sync[1], "s", 1);
    while (!got_hup) pause();
    n = read(cs, buf, sizeof buf);
    printf("child: SIGHUP; read after hangup %zd\n", n);
    n = write(cs, "x", 1);
    printf("child: write after hangup %zd %s\n", n, strerror(errno));
    fflush(stdout);
    _exit(0);
  }
  close(sync[1]);
  read(sync[0], buf, 1);
  usleep(50000);
  write(m, "\x03", 1);
  read(sync[0], buf, 1);
  n = drain(m, buf, sizeof buf);
  show("^C echo", buf, n);
  close(m);
  int status;
  waitpid(pid, &status, 0);
  printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  /* forkpty (Python's pty.fork): login_tty makes the slave the child's stdio and controlling
     terminal with TIOCSCTTY; the parent reads until EIO */
  fflush(stdout);
  pid = forkpty(&m, NULL, NULL, NULL);
  if (pid == 0) {
    printf("in child: tty %d foreground %d\n", isatty(0) && isatty(1), tcgetpgrp(0) == getpid());
    fflush(stdout); /* stdout kept the parent's full buffering */
    char line[64];
    if (fgets(line, sizeof line, stdin)) printf("child got: %s", line);
    fflush(stdout);
    _exit(3);
  }
  size_t got = 0;
  int pinged = 0;
  for (;;) {
    n = read(m, buf + got, sizeof buf - 1 - got);
    if (n <= 0) break;
    got += (size_t)n;
    if (!pinged && memchr(buf, '\n', got)) {
      pinged = 1; /* after the child's first line: the order of the output is fixed */
      write(m, "ping\n", 5);
    }
  }
  printf("forkpty master read ends: %s\n", n < 0 ? strerror(errno) : "EOF");
  show("forkpty output", buf, (ssize_t)got);
  waitpid(pid, &status, 0);
  printf("forkpty child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  close(m);
  return 0;
}
