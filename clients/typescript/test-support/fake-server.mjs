// A scripted stand-in for a wirecall server, for the tests. It lives outside
// test/ because `node --test test/` runs every .mjs file found there.

import { WebSocket, WebSocketServer } from "ws";

export { WebSocket };

/** One client connection as the fake server sees it. */
export class Peer {
  constructor(socket) {
    this.socket = socket;
    this.frames = [];
    this.readers = [];
    this.closed = new Promise((resolve) => socket.once("close", (code) => resolve(code)));
    socket.on("message", (data) => {
      const text = data.toString();
      const reader = this.readers.shift();
      if (reader) reader(text);
      else this.frames.push(text);
    });
  }

  /** The next frame's raw text. */
  nextText() {
    const text = this.frames.shift();
    if (text !== undefined) return Promise.resolve(text);
    return new Promise((resolve) => this.readers.push(resolve));
  }

  /** The next frame, parsed. */
  async next() {
    return JSON.parse(await this.nextText());
  }

  /** Sends an object as JSON, or a string as it is. */
  send(message) {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  reply(id, result) {
    this.send({ jsonrpc: "2.0", id, result });
  }

  notice(method, params) {
    this.send({ jsonrpc: "2.0", method, params });
  }

  /** Drops the connection without a closing handshake, like a network cut. */
  cut() {
    this.socket.terminate();
  }
}

export async function startServer() {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  const peers = [];
  const waiting = [];
  server.on("connection", (socket) => {
    const peer = new Peer(socket);
    const waiter = waiting.shift();
    if (waiter) waiter(peer);
    else peers.push(peer);
  });
  return {
    url: `ws://127.0.0.1:${server.address().port}`,
    /** The next connection the server accepts. */
    connection() {
      const peer = peers.shift();
      if (peer) return Promise.resolve(peer);
      return new Promise((resolve) => waiting.push(resolve));
    },
    close() {
      for (const socket of server.clients) socket.terminate();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Waits until `predicate` holds, polling; fails after `ms`. */
export async function until(predicate, ms = 2000) {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A server, a client connected to it (with `ws` as its WebSocket) and the
 * server's side of that connection. `done()` closes both.
 */
export async function connected(Client, options = {}) {
  const server = await startServer();
  const client = new Client(server.url, { WebSocket, ...options });
  const peer = await server.connection();
  await until(() => client.state === "open");
  return {
    server,
    client,
    peer,
    async done() {
      await client.close();
      await server.close();
    },
  };
}
