// Starting the example servers as processes, and a TCP proxy that can cut,
// stall and refuse, for the TypeScript client's tests against real servers.

import { spawn } from "node:child_process";
import net from "node:net";
import { createInterface } from "node:readline";

/** Starts the example binary at `path` with `args`; resolves with its URL once it listens. */
export async function startServer(path, args = []) {
  const child = spawn(path, ["--listen", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Its stderr is kept (the last 4 KiB) for a failure to start: the spec
  // server's `panic` method writes there on purpose.
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path} did not start in 20 s`)), 20_000);
    child.once("exit", (code) => reject(new Error(`${path} exited with ${code} before listening:\n${stderr}`)));
    lines.on("line", (line) => {
      const found = /listening on (ws:\/\/\S+)/.exec(line);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    stop: () =>
      new Promise((resolve) => {
        // Ended already (by itself, or killed by an earlier stop).
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", resolve);
        child.kill("SIGKILL");
      }),
  };
}

/** The path of an example binary, from the variable the test harness sets. */
export function example(variable) {
  const path = process.env[variable];
  if (!path) throw new Error(`${variable} must name the built example (tests/typescript.rs sets it)`);
  return path;
}

/**
 * A proxy on 127.0.0.1 in front of `upstreamPort`. `cut()` resets every
 * open connection (TCP RST, no close frame); `stall(ms)` stops moving
 * bytes; `refuse(ms)` resets new connections at once; `retarget(port)`
 * sends later connections elsewhere (a restarted server).
 */
export async function startProxy(upstreamPort) {
  let upstream = upstreamPort;
  let refusingUntil = 0;
  const pairs = new Set();
  const server = net.createServer((client) => {
    if (Date.now() < refusingUntil) {
      client.resetAndDestroy();
      return;
    }
    const remote = net.connect(upstream, "127.0.0.1");
    const pair = { client, remote };
    pairs.add(pair);
    client.pipe(remote);
    remote.pipe(client);
    const drop = () => {
      pairs.delete(pair);
      if (!client.destroyed) client.resetAndDestroy();
      if (!remote.destroyed) remote.resetAndDestroy();
    };
    client.on("error", drop).on("close", drop);
    remote.on("error", drop).on("close", drop);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  return {
    url: `ws://127.0.0.1:${port}/`,
    connections: () => pairs.size,
    cut() {
      for (const { client, remote } of [...pairs]) {
        client.resetAndDestroy();
        remote.resetAndDestroy();
      }
      pairs.clear();
    },
    async stall(ms) {
      const held = [...pairs];
      for (const { client, remote } of held) {
        client.unpipe(remote);
        remote.unpipe(client);
        client.pause();
        remote.pause();
      }
      await new Promise((resolve) => setTimeout(resolve, ms));
      for (const { client, remote } of held) {
        if (client.destroyed || remote.destroyed) continue;
        client.pipe(remote);
        remote.pipe(client);
        client.resume();
        remote.resume();
      }
    },
    refuse(ms) {
      refusingUntil = Date.now() + ms;
    },
    retarget(port) {
      upstream = port;
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
