/**
 * AF_INET/AF_INET6 sockets on a guest-internal loopback network: TCP (SOCK_STREAM) and
 * UDP (SOCK_DGRAM) between sockets of the same VM. Only loopback (127.0.0.0/8, ::1) and
 * wildcard addresses exist; other destinations give ENETUNREACH. A TCP connection is made
 * at connect() time (the "handshake" is instantaneous) and queued on the listener until
 * accept(); data moves through the shared queue of net/socket.ts. RST cases follow Linux:
 * a connection refused, closing with unread data, writing to a peer that has closed.
 */
import { Errno, KernelError } from '../errno';
import type { Kernel } from '../kernel';
import type { Task } from '../task';
import { type KFile, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP } from '../fs/file';
import {
  AF_INET,
  AF_INET6,
  type Coverage,
  type Endpoint,
  type Ip,
  V4_ANY,
  V6_ANY,
  coverage,
  covers,
  formatSockaddr,
  ipEqual,
  isAny,
  isLocal,
  isMapped,
  overlaps,
  parseSockaddr,
  route,
  sourceFor,
} from './inet_addr';
import {
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_DOMAIN,
  SO_ERROR,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_TYPE,
  Socket,
  intBytes,
  nonblockFlag,
  optInt,
  raiseSigpipe,
  type EmptyState,
} from './socket';

export { AF_INET, AF_INET6 };

const IPPROTO_IP = 0;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_IPV6 = 41;
const SO_BROADCAST = 6;
const SO_KEEPALIVE = 9;
const SO_OOBINLINE = 10;
const SO_PRIORITY = 12;
const SO_LINGER = 13;
const SO_REUSEPORT = 15;
const TCP_NODELAY = 1;
const TCP_KEEPIDLE = 4;
const TCP_KEEPINTVL = 5;
const TCP_KEEPCNT = 6;
const TCP_QUICKACK = 12;
const IP_TOS = 1;
const IP_TTL = 2;
const IPV6_V6ONLY = 26;
/** Linux defaults: net.core.{r,w}mem_max, tcp_{r,w}mem[1], SOCK_MIN_{RCV,SND}BUF. */
const MEM_MAX = 212992;
const TCP_RCVBUF = 131072;
const TCP_SNDBUF = 16384;
const MIN_RCVBUF = 2304;
const MIN_SNDBUF = 4608;
const SOMAXCONN = 4096;
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
const UDP_MAX = { [AF_INET]: 65507, [AF_INET6]: 65527 } as Record<number, number>;

/**
 * Plain int options kept per socket: level → option → [default, boolean?, which sockets].
 * (SO_REUSEADDR/REUSEPORT and IPV6_V6ONLY are fields: binding reads them.)
 */
const PLAIN_OPTIONS: Record<number, Record<number, [number, boolean, 'all' | 'tcp']>> = {
  [SOL_SOCKET]: {
    [SO_KEEPALIVE]: [0, true, 'all'],
    [SO_BROADCAST]: [0, true, 'all'],
    [SO_OOBINLINE]: [0, true, 'all'],
    [SO_PRIORITY]: [0, false, 'all'],
  },
  [IPPROTO_TCP]: {
    [TCP_NODELAY]: [0, true, 'tcp'],
    [TCP_KEEPIDLE]: [7200, false, 'tcp'],
    [TCP_KEEPINTVL]: [75, false, 'tcp'],
    [TCP_KEEPCNT]: [9, false, 'tcp'],
    [TCP_QUICKACK]: [1, true, 'tcp'],
  },
  [IPPROTO_IP]: {
    [IP_TOS]: [0, false, 'all'],
    [IP_TTL]: [64, false, 'all'],
  },
};

/** Per-VM network state: bound sockets by protocol and port, the ephemeral port cursor. */
interface NetState {
  tcp: Map<number, InetSocket[]>;
  udp: Map<number, InetSocket[]>;
  nextPort: number;
}
const states = new WeakMap<Kernel, NetState>();
function netOf(k: Kernel): NetState {
  let s = states.get(k);
  if (!s) {
    // the start comes from the VM's generator: seeded (reproducible) in deterministic mode
    const r = new Uint8Array(2);
    k.rng.fill(r);
    const start = EPHEMERAL_LOW + (((r[0] << 8) | r[1]) % (EPHEMERAL_HIGH - EPHEMERAL_LOW + 1));
    states.set(k, (s = { tcp: new Map(), udp: new Map(), nextPort: start }));
  }
  return s;
}

/** 'connecting': a non-blocking connect waits for room in a full accept queue (SYN_SENT). */
type TcpState = 'closed' | 'listening' | 'connecting' | 'connected';

export class InetSocket extends Socket {
  readonly protocol: number;
  localIp: Ip;
  port = 0;
  /** bind() named the address / a non-zero port (they survive a UDP disconnect). */
  ipLocked = false;
  portLocked = false;
  hashed = false;
  remote: Endpoint | null = null;
  peer: InetSocket | null = null;
  state: TcpState = 'closed';
  /** The connection ended abnormally (refused, reset): both directions are shut. */
  done = false;
  /** The peer sent FIN (shutdown(SHUT_WR) or close). */
  finReceived = false;
  /** The peer socket is gone: our next write draws a reset. */
  peerGone = false;
  /** Reset this connection's peer when closing (unaccepted connection of a closed listener). */
  abortive = false;
  pendingErr = 0;
  /** A non-blocking connect returned EINPROGRESS and no later connect() has reported it. */
  connectPending = false;
  reuseAddr = false;
  reusePort = false;
  v6only = false;
  rcvbuf: number;
  sndbuf: number;
  linger = { on: 0, secs: 0 };
  private readonly options = new Map<number, number>();
  /** Listener: non-blocking connects waiting for room in the accept queue, oldest first. */
  private synWaiters: InetSocket[] = [];
  /** Connecting socket: the listener it waits on. */
  private synListener: InetSocket | null = null;

  constructor(
    k: Kernel,
    readonly domain: number,
    type: number,
    flags: number,
  ) {
    super(k, type, flags);
    this.protocol = type === SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    this.localIp = domain === AF_INET ? V4_ANY : V6_ANY;
    this.rcvbuf = type === SOCK_STREAM ? TCP_RCVBUF : MEM_MAX;
    this.sndbuf = type === SOCK_STREAM ? TCP_SNDBUF : MEM_MAX;
  }

  get capacity(): number {
    return this.rcvbuf;
  }
  private get tcp(): boolean {
    return this.type === SOCK_STREAM;
  }
  private table(): Map<number, InetSocket[]> {
    const n = netOf(this.k);
    return this.tcp ? n.tcp : n.udp;
  }
  private coverage(): Coverage {
    return coverage(this.domain, this.localIp, this.v6only);
  }

  // ---- ports --------------------------------------------------------------------------

  /** A bound socket on `port` that this socket's address would clash with. */
  private conflicts(port: number, cov: Coverage): boolean {
    for (const o of this.table().get(port) ?? []) {
      if (o === this || !overlaps(cov, o.coverage())) continue;
      if (this.reusePort && o.reusePort) continue;
      if (this.reuseAddr && o.reuseAddr && (!this.tcp || o.state !== 'listening')) continue;
      return true;
    }
    return false;
  }

  private hash(port: number): void {
    const tab = this.table();
    let list = tab.get(port);
    if (!list) tab.set(port, (list = []));
    list.push(this);
    this.port = port;
    this.hashed = true;
  }

  private unhash(): void {
    if (!this.hashed) return;
    const tab = this.table();
    const list = tab.get(this.port) ?? [];
    const i = list.indexOf(this);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) tab.delete(this.port);
    this.hashed = false;
  }

  /** Binds a free ephemeral port (32768–60999), in a reproducible order. */
  private autobind(errno: Errno): void {
    const n = netOf(this.k);
    const tab = this.table();
    const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    for (let i = 0; i < span; i++) {
      const p = n.nextPort;
      n.nextPort = p === EPHEMERAL_HIGH ? EPHEMERAL_LOW : p + 1;
      if (!tab.has(p)) {
        this.hash(p);
        return;
      }
    }
    throw new KernelError(errno);
  }

  bind(t: Task, addr: Uint8Array): void {
    const { unspec, ep } = parseSockaddr(this.domain, addr);
    if (unspec) throw new KernelError(Errno.EAFNOSUPPORT);
    if (this.domain === AF_INET6 && isMapped(ep.ip) && this.v6only) throw new KernelError(Errno.EINVAL);
    if (!isLocal(ep.ip)) throw new KernelError(Errno.EADDRNOTAVAIL);
    if (ep.port !== 0 && ep.port < 1024 && t.process.creds.euid !== 0) throw new KernelError(Errno.EACCES);
    if (this.port !== 0 || this.state !== 'closed' || this.remote) throw new KernelError(Errno.EINVAL);
    const old = this.localIp;
    this.localIp = ep.ip;
    if (ep.port === 0) {
      try {
        this.autobind(Errno.EADDRINUSE);
      } catch (e) {
        this.localIp = old;
        throw e;
      }
    } else {
      if (this.conflicts(ep.port, this.coverage())) {
        this.localIp = old;
        throw new KernelError(Errno.EADDRINUSE);
      }
      this.hash(ep.port);
    }
    this.ipLocked = !isAny(ep.ip);
    this.portLocked = ep.port !== 0;
  }

  listen(backlog: number): void {
    if (!this.tcp) throw new KernelError(Errno.EOPNOTSUPP);
    // connected, or after a connect attempt
    if (this.state === 'connected' || this.done || this.connectPending) throw new KernelError(Errno.EINVAL);
    if (this.port === 0) this.autobind(Errno.EADDRINUSE);
    else if (!this.listening && this.conflicts(this.port, this.coverage())) throw new KernelError(Errno.EADDRINUSE);
    this.listening = true;
    this.state = 'listening';
    this.backlogMax = backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog;
  }

  /** The destination as this socket may reach it (ENETUNREACH off the loopback). */
  private destination(ep: Endpoint): Endpoint {
    if (this.domain === AF_INET6 && isMapped(ep.ip) && this.v6only) throw new KernelError(Errno.ENETUNREACH);
    return { ip: route(ep.ip), port: ep.port };
  }

  /** Picks the source address (and an ephemeral port when unbound) for talking to `dst`. */
  private prepareSource(dst: Ip): void {
    if (this.port === 0) this.autobind(Errno.EADDRNOTAVAIL);
    if (!this.ipLocked) this.localIp = sourceFor(dst);
  }

  private releasePort(): void {
    if (!this.portLocked) {
      this.unhash();
      this.port = 0;
    }
    if (!this.ipLocked) this.localIp = this.domain === AF_INET ? V4_ANY : V6_ANY;
  }

  connect(t: Task, addr: Uint8Array): number | Promise<number> {
    const { unspec, ep } = parseSockaddr(this.domain, addr);
    if (!this.tcp) {
      if (unspec) {
        this.remote = null;
        this.releasePort();
        return 0;
      }
      const dst = this.destination(ep);
      if (this.port === 0) this.autobind(Errno.EAGAIN);
      if (!this.ipLocked) this.localIp = sourceFor(dst.ip);
      this.remote = dst;
      this.pendingErr = 0;
      return 0;
    }
    if (unspec) return this.state === 'connected' ? -Errno.EISCONN : 0;
    if (this.listening) return -Errno.EISCONN;
    if (this.state === 'connecting') return -Errno.EALREADY;
    if (this.connectPending) {
      this.connectPending = false;
      if (this.state === 'connected') return 0;
      const e = this.pendingErr || Errno.ECONNABORTED;
      this.pendingErr = 0;
      return -e;
    }
    if (this.state === 'connected') return -Errno.EISCONN;
    return this.tcpConnect(t, this.destination(ep));
  }

  private tcpConnect(t: Task, dst: Endpoint): number | Promise<number> {
    this.done = false;
    this.finReceived = this.peerGone = false;
    this.shutRead = this.shutWrite = false;
    this.prepareSource(dst.ip);
    const listener = this.findListener(dst);
    if (listener && listener.backlog.length > listener.backlogMax) {
      if (!this.nonblock) return this.connectWait(t, dst);
      // the SYN is dropped; the connection completes when accept() makes room
      this.state = 'connecting';
      this.remote = dst;
      this.synListener = listener;
      listener.synWaiters.push(this);
      this.connectPending = true;
      return -Errno.EINPROGRESS;
    }
    return this.establish(dst, listener);
  }

  /**
   * A full accept queue holds a blocking connect until there is room (Linux retries the SYN);
   * SO_SNDTIMEO ends the wait with EINPROGRESS.
   */
  private async connectWait(t: Task, dst: Endpoint): Promise<number> {
    const deadline = this.deadline(this.sndTimeoNs);
    let listener = this.findListener(dst);
    while (listener && listener.backlog.length > listener.backlogMax) {
      try {
        await this.waitOn(t, [listener.wq], deadline);
      } catch (e) {
        if (e instanceof KernelError && e.errno === Errno.EAGAIN) return -Errno.EINPROGRESS;
        throw e;
      }
      listener = this.findListener(dst);
    }
    return this.establish(dst, listener);
  }

  private establish(dst: Endpoint, listener: InetSocket | null): number {
    if (!listener) {
      // Linux keeps the ephemeral port (the address goes back to the wildcard) and refuses
      // listen() on the socket afterwards
      if (!this.ipLocked) this.localIp = this.domain === AF_INET ? V4_ANY : V6_ANY;
      this.done = true;
      if (!this.nonblock) return -Errno.ECONNREFUSED;
      this.pendingErr = Errno.ECONNREFUSED;
      this.connectPending = true;
      this.wake();
      return -Errno.EINPROGRESS;
    }
    const child = new InetSocket(this.k, listener.domain, SOCK_STREAM, 0);
    child.localIp = dst.ip;
    child.reuseAddr = listener.reuseAddr;
    child.reusePort = listener.reusePort;
    child.v6only = listener.v6only;
    child.rcvbuf = listener.rcvbuf;
    child.sndbuf = listener.sndbuf;
    for (const [key, v] of listener.options) child.options.set(key, v);
    child.hash(dst.port);
    child.remote = { ip: this.localIp, port: this.port };
    child.state = this.state = 'connected';
    child.peer = this;
    this.peer = child;
    this.remote = dst;
    listener.enqueueConnection(child);
    this.wake();
    if (this.nonblock) {
      this.connectPending = true;
      return -Errno.EINPROGRESS;
    }
    return 0;
  }

  private findListener(dst: Endpoint): InetSocket | null {
    let best: InetSocket | null = null;
    let score = 0;
    for (const o of netOf(this.k).tcp.get(dst.port) ?? []) {
      if (!o.listening) continue;
      const s = covers(o.coverage(), dst.ip);
      if (s > score) [best, score] = [o, s];
    }
    return best;
  }

  private findUdp(dst: Endpoint, src: Endpoint): InetSocket | null {
    let best: InetSocket | null = null;
    let score = 0;
    for (const o of netOf(this.k).udp.get(dst.port) ?? []) {
      let s = covers(o.coverage(), dst.ip);
      if (s === 0) continue;
      if (o.remote) {
        if (o.remote.port !== src.port || !ipEqual(o.remote.ip, src.ip)) continue;
        s += 4;
      }
      if (s >= score) [best, score] = [o, s];
    }
    return best;
  }

  sockName(): Uint8Array {
    return formatSockaddr(this.domain, { ip: this.localIp, port: this.port });
  }
  peerName(): Uint8Array {
    if (!this.remote || (this.tcp && (this.state !== 'connected' || (this.connectPending && this.done))))
      throw new KernelError(Errno.ENOTCONN);
    return formatSockaddr(this.domain, this.remote);
  }
  acceptedName(): Uint8Array | null {
    return this.remote ? formatSockaddr(this.domain, this.remote) : null;
  }

  private takeError(): number {
    const e = this.pendingErr;
    this.pendingErr = 0;
    return e;
  }

  send(t: Task, data: Uint8Array, _files: KFile[], flags: number, to: Uint8Array | null): number | Promise<number> {
    return this.tcp ? this.sendTcp(t, data, flags) : this.sendUdp(data, to);
  }

  private sendUdp(data: Uint8Array, to: Uint8Array | null): number {
    let dst: Endpoint;
    if (to !== null) {
      const p = parseSockaddr(this.domain, to);
      if (p.unspec) {
        if (!this.remote) throw new KernelError(Errno.EDESTADDRREQ);
        dst = this.remote;
      } else dst = p.ep;
    } else if (this.remote) dst = this.remote;
    else throw new KernelError(Errno.EDESTADDRREQ);
    if (data.length > UDP_MAX[this.domain]) throw new KernelError(Errno.EMSGSIZE);
    if (this.shutWrite) throw new KernelError(Errno.EPIPE);
    dst = this.destination(dst);
    if (this.port === 0) this.autobind(Errno.EAGAIN);
    const src = { ip: this.ipLocked || !isAny(this.localIp) ? this.localIp : sourceFor(dst.ip), port: this.port };
    const target = this.findUdp(dst, src);
    if (!target) {
      // the ICMP port-unreachable reaches a connected socket sending to its peer only
      const r = this.remote;
      if (r && r.port === dst.port && ipEqual(r.ip, dst.ip)) {
        this.pendingErr = Errno.ECONNREFUSED;
        this.wake();
      }
      return data.length;
    }
    if (target.queued + data.length <= target.rcvbuf && !target.shutRead)
      target.deliver({ data: data.slice(), files: [], from: formatSockaddr(target.domain, src) });
    return data.length;
  }

  private sendTcp(t: Task, data: Uint8Array, flags: number): number | Promise<number> {
    const fail = (): never => {
      raiseSigpipe(this.k, t, flags);
      throw new KernelError(Errno.EPIPE);
    };
    if (this.state === 'connecting') {
      // Linux waits for the handshake (EAGAIN when non-blocking)
      if (this.nonblock || flags & MSG_DONTWAIT) throw new KernelError(Errno.EAGAIN);
      return this.waitOn(t, [this.wq], this.deadline(this.sndTimeoNs)).then(() => this.sendTcp(t, data, flags));
    }
    if (this.state !== 'connected') {
      const e = this.takeError();
      if (e && e !== Errno.EPIPE) throw new KernelError(e);
      fail();
    }
    if (this.shutWrite) fail();
    const peer = this.peer;
    if (!peer || this.peerGone) {
      // data reaches a closed socket, which answers with a reset
      this.resetBy(Errno.EPIPE);
      return data.length;
    }
    const nonblock = this.nonblock || (flags & MSG_DONTWAIT) !== 0;
    return this.pushStream(t, {
      peer,
      data,
      files: [],
      nonblock,
      atomic: false,
      broken: () => this.shutWrite || this.peerGone || this.state !== 'connected',
      fail,
    });
  }

  /** The connection is reset: `err` becomes the pending error, both directions shut. */
  resetBy(err: number): void {
    this.pendingErr = err;
    this.done = true;
    this.state = 'closed';
    this.peer = null;
    this.wake();
  }

  protected override beforeRecv(): void {
    if (!this.tcp && this.pendingErr) throw new KernelError(this.takeError());
  }

  protected emptyState(): EmptyState {
    if (!this.tcp) return this.shutRead ? 'eof' : 'wait';
    if (this.listening) throw new KernelError(Errno.ENOTCONN);
    if (this.finReceived) return 'eof';
    if (this.pendingErr) throw new KernelError(this.takeError());
    if (this.shutRead || this.done) return 'eof';
    if (this.state === 'connecting') return 'wait';
    if (this.state !== 'connected') throw new KernelError(Errno.ENOTCONN);
    return 'wait';
  }
  protected override consumed(): void {
    this.peer?.wake();
  }

  shutdown(how: number): void {
    const rd = how === 0 || how === 2;
    const wr = how === 1 || how === 2;
    if (!this.tcp) {
      this.shutRead ||= rd;
      this.shutWrite ||= wr;
      this.wake();
      if (!this.remote) throw new KernelError(Errno.ENOTCONN);
      return;
    }
    if (this.listening) {
      if (rd) this.stopListening();
      return;
    }
    if (this.state !== 'connected') throw new KernelError(Errno.ENOTCONN);
    if (rd) this.shutRead = true;
    if (wr && !this.shutWrite) {
      this.shutWrite = true;
      if (this.peer) {
        this.peer.finReceived = true;
        this.peer.wake();
      }
    }
    this.wake();
  }

  protected override admitWaiting(): void {
    while (this.synWaiters.length > 0 && this.backlog.length <= this.backlogMax) {
      const w = this.synWaiters.shift() as InetSocket;
      w.synListener = null;
      w.state = 'closed';
      w.establish(w.remote as Endpoint, this);
    }
  }

  private stopListening(): void {
    for (const w of this.synWaiters) {
      // the retried SYN finds no listener: refused
      w.synListener = null;
      w.state = 'closed';
      w.done = true;
      w.pendingErr = Errno.ECONNREFUSED;
      w.wake();
    }
    this.synWaiters = [];
    this.listening = false;
    this.state = 'closed';
    for (const c of this.backlog) (c as InetSocket).abortive = true;
    this.dropQueued();
    this.wake();
  }

  setOption(level: number, opt: number, val: Uint8Array): void {
    if (level === SOL_SOCKET && opt === SO_LINGER) {
      if (val.length < 8) throw new KernelError(Errno.EINVAL);
      const v = new DataView(val.buffer, val.byteOffset, 8);
      this.linger = { on: v.getInt32(0, true) ? 1 : 0, secs: v.getInt32(4, true) };
      return;
    }
    this.checkLevel(level, opt);
    const n = optInt(val);
    if (level === SOL_SOCKET) {
      switch (opt) {
        case SO_REUSEADDR:
          this.reuseAddr = n !== 0;
          return;
        case SO_REUSEPORT:
          this.reusePort = n !== 0;
          return;
        case SO_RCVBUF:
          this.rcvbuf = Math.max(MIN_RCVBUF, Math.min(n >>> 0, MEM_MAX) * 2);
          this.wake();
          return;
        case SO_SNDBUF:
          this.sndbuf = Math.max(MIN_SNDBUF, Math.min(n >>> 0, MEM_MAX) * 2);
          return;
      }
    }
    if (level === IPPROTO_IPV6 && opt === IPV6_V6ONLY) {
      if (this.port !== 0 || this.state !== 'closed') throw new KernelError(Errno.EINVAL);
      this.v6only = n !== 0;
      return;
    }
    const plain = PLAIN_OPTIONS[level]?.[opt];
    if (!plain || (plain[2] === 'tcp' && !this.tcp)) throw new KernelError(Errno.ENOPROTOOPT);
    this.options.set(level * 65536 + opt, plain[1] ? (n ? 1 : 0) : n);
  }

  /** Options of another protocol's level: EOPNOTSUPP (TCP on UDP, IPv6 on an IPv4 socket). */
  private checkLevel(level: number, opt: number): void {
    if (level === IPPROTO_TCP && !this.tcp) throw new KernelError(Errno.EOPNOTSUPP);
    if (level === IPPROTO_UDP && this.tcp) throw new KernelError(Errno.EOPNOTSUPP);
    if (level === IPPROTO_IPV6 && this.domain !== AF_INET6) throw new KernelError(Errno.EOPNOTSUPP);
    if (level !== SOL_SOCKET && level !== IPPROTO_TCP && level !== IPPROTO_IP && level !== IPPROTO_IPV6)
      throw new KernelError(Errno.ENOPROTOOPT);
    void opt;
  }

  getOption(level: number, opt: number): Uint8Array {
    if (level === SOL_SOCKET) {
      switch (opt) {
        case SO_TYPE:
          return intBytes(this.type);
        case SO_ERROR:
          return intBytes(this.takeError());
        case SO_DOMAIN:
          return intBytes(this.domain);
        case SO_PROTOCOL:
          return intBytes(this.protocol);
        case SO_ACCEPTCONN:
          return intBytes(this.listening ? 1 : 0);
        case SO_REUSEADDR:
          return intBytes(this.reuseAddr ? 1 : 0);
        case SO_REUSEPORT:
          return intBytes(this.reusePort ? 1 : 0);
        case SO_RCVBUF:
          return intBytes(this.rcvbuf);
        case SO_SNDBUF:
          return intBytes(this.sndbuf);
        case SO_LINGER: {
          const b = new Uint8Array(8);
          const v = new DataView(b.buffer);
          v.setInt32(0, this.linger.on, true);
          v.setInt32(4, this.linger.secs, true);
          return b;
        }
      }
    }
    this.checkLevel(level, opt);
    if (level === IPPROTO_IPV6 && opt === IPV6_V6ONLY) return intBytes(this.v6only ? 1 : 0);
    const plain = PLAIN_OPTIONS[level]?.[opt];
    if (!plain || (plain[2] === 'tcp' && !this.tcp)) throw new KernelError(Errno.ENOPROTOOPT);
    return intBytes(this.options.get(level * 65536 + opt) ?? plain[0]);
  }

  override poll(events: number): number {
    let m = 0;
    if (!this.tcp) {
      if (this.queue.length > 0 || this.shutRead) m |= POLLIN;
      if (this.shutRead) m |= POLLRDHUP;
      if (this.shutRead && this.shutWrite) m |= POLLHUP;
      if (this.pendingErr) m |= POLLERR;
      m |= POLLOUT;
      return m & (events | POLLHUP | POLLERR);
    }
    if (this.listening) return this.backlog.length ? events & POLLIN : 0;
    if (this.state === 'connecting') return 0;
    const rcvShut = this.shutRead || this.finReceived || this.done;
    const sndShut = this.shutWrite || this.done;
    const closed = this.state !== 'connected';
    if ((rcvShut && sndShut) || closed) m |= POLLHUP;
    if (rcvShut) m |= POLLIN | POLLRDHUP;
    if (this.queue.length > 0) m |= POLLIN;
    const peer = this.peer;
    if (sndShut || closed || !peer || this.peerGone || peer.queued < peer.capacity) m |= POLLOUT;
    if (this.pendingErr) m |= POLLERR;
    return m & (events | POLLHUP | POLLERR);
  }

  override release(): void {
    const l = this.synListener;
    if (l) l.synWaiters = l.synWaiters.filter((w) => w !== this);
    this.unhash();
    if (this.listening) this.stopListening();
    const p = this.peer;
    this.peer = null;
    if (p) {
      // unread data, SO_LINGER with a zero timeout or an unaccepted connection: RST, not FIN
      if (this.queue.length > 0 || this.abortive || (this.linger.on && this.linger.secs === 0))
        p.resetBy(Errno.ECONNRESET);
      else {
        p.finReceived = true;
        p.peerGone = true;
        p.wake();
      }
    }
    this.dropQueued();
  }
}

export function createInetSocket(k: Kernel, domain: number, type: number, protocol: number): InetSocket {
  const base = type & 0xf;
  if (base === SOCK_STREAM) {
    if (protocol !== 0 && protocol !== IPPROTO_TCP) throw new KernelError(Errno.EPROTONOSUPPORT);
  } else if (base === SOCK_DGRAM) {
    if (protocol !== 0 && protocol !== IPPROTO_UDP) throw new KernelError(Errno.EPROTONOSUPPORT);
  } else throw new KernelError(Errno.ESOCKTNOSUPPORT);
  return new InetSocket(k, domain, base, nonblockFlag(type));
}
