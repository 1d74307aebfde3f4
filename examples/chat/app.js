// A small JSON-RPC 2.0 client over one WebSocket, and the chat UI on top.
"use strict";

class RpcSocket {
  // A JSON-RPC 2.0 connection that comes back by itself: when the socket
  // drops it reconnects with backoff and jitter, and every subscription is
  // made again — resumed after the last position seen when its items carry
  // one (rpc.resume), so the handler hears exactly what was missed.
  constructor(url) {
    this.url = url;
    this.nextId = 1;
    this.pending = new Map();       // call id -> {resolve, reject}
    this.subscriptions = new Set(); // every subscription, across connections
    this.byServerId = new Map();    // this connection's subscription id -> subscription
    this.waiting = [];              // calls made while disconnected
    this.attempt = 0;
    this.everOpened = false;
    this.onstate = null;            // ("connected" | "reconnecting" | "failed", detail)
    this.onreconnect = null;        // after every subscription is back
    this.connect();
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onopen = async () => {
      const again = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      if (again) await this.resubscribeAll();
      this.onstate && this.onstate("connected");
      for (const go of this.waiting.splice(0)) go();
      if (again && this.onreconnect) this.onreconnect();
    };
    socket.onclose = () => {
      for (const { reject } of this.pending.values()) reject(new Error("disconnected"));
      this.pending.clear();
      this.byServerId.clear();
      // Capped exponential backoff, half of it random, so a restarted
      // server is not met by every page at once.
      const ceiling = Math.min(5000, 250 * 2 ** this.attempt);
      const delay = ceiling / 2 + Math.random() * ceiling / 2;
      this.attempt += 1;
      this.onstate && this.onstate("reconnecting", this.attempt);
      setTimeout(() => this.connect(), delay);
    };
  }

  // Resolves once the socket is open; calls made meanwhile wait up to 10 s.
  whenOpen() {
    if (this.socket.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      setTimeout(() => reject(new Error("not connected")), 10000);
    });
  }

  async call(method, params) {
    await this.whenOpen();
    return this.send(method, params);
  }

  send(method, params) {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  async subscribe(method, params, unsubscribe, handler) {
    const subscription = { method, params, unsubscribe, handler, id: null, position: null };
    subscription.id = await this.call(method, params);
    this.subscriptions.add(subscription);
    this.byServerId.set(JSON.stringify(subscription.id), subscription);
    return subscription;
  }

  unsubscribe(subscription) {
    this.subscriptions.delete(subscription);
    this.byServerId.delete(JSON.stringify(subscription.id));
    return this.call(subscription.unsubscribe, [subscription.id]);
  }

  // On a new connection: resume each subscription after its last position,
  // or subscribe again (and say so) when its items carry none.
  async resubscribeAll() {
    for (const subscription of this.subscriptions) {
      const { method, params, position } = subscription;
      try {
        subscription.id = position
          ? await this.send("rpc.resume", { method, params, epoch: position.epoch, offset: position.offset })
          : await this.send(method, params);
        this.byServerId.set(JSON.stringify(subscription.id), subscription);
        if (!position) subscription.handler({ resubscribed: true });
      } catch (err) {
        this.subscriptions.delete(subscription);
        subscription.handler({ error: err });
      }
    }
  }

  receive(message) {
    for (const one of Array.isArray(message) ? message : [message]) {
      if ("id" in one && !("method" in one)) {
        const waiter = this.pending.get(one.id);
        this.pending.delete(one.id);
        if (!waiter) continue;
        if (one.error) waiter.reject(one.error); else waiter.resolve(one.result);
      } else if (one.params && "subscription" in one.params) {
        const subscription = this.byServerId.get(JSON.stringify(one.params.subscription));
        if (!subscription) continue;
        const at = one.params.position;
        if (at) {
          const last = subscription.position;
          // Already seen (it can come twice around a reconnect): skip it.
          if (last && last.epoch === at.epoch && at.offset <= last.offset) continue;
          subscription.position = at;
        }
        subscription.handler(one.params);
      }
    }
  }
}

const $ = (id) => document.getElementById(id);
const rpc = new RpcSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/rpc`);
let me = null;
let room = null;
const users = new Set();

rpc.onstate = (state, attempt) => {
  $("dot").classList.toggle("on", state === "connected");
  $("conn").textContent = state === "connected" ? "connected" : `reconnecting… (attempt ${attempt})`;
  $("joinbtn").disabled = state !== "connected" || room !== null;
};
// Back after a drop: be in the room again under the same name. The server
// may not have noticed the old connection's end yet, so a taken name is
// retried for a little while.
rpc.onreconnect = async () => {
  if (room === null) return;
  for (let tries = 0; tries < 20; tries++) {
    try {
      const present = await rpc.call("chat_join", [room, me]);
      users.clear();
      present.forEach((n) => users.add(n));
      renderUsers();
      return;
    } catch (err) {
      if (err.code !== 1002) return note(`could not rejoin: ${err.message || err}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  note("could not rejoin: the name stayed taken");
};

function renderUsers() {
  $("users").replaceChildren(...[...users].sort().map((name) => {
    const li = document.createElement("li");
    li.textContent = name === me ? `${name} (you)` : name;
    return li;
  }));
}

function addLine(node) {
  $("log").append(node);
  $("log").scrollTop = $("log").scrollHeight;
}

function note(text) {
  const div = document.createElement("div");
  div.className = "note";
  div.textContent = text;
  addLine(div);
}

function onEvent(params) {
  if (params.lagged) return note(`missed ${params.lagged} events`);
  if (params.error) return note(`room closed: ${params.error.message}`);
  if (params.resubscribed) return note("reconnected; events while away may be missing");
  if (params.resumed) {
    if (params.resumed.reset) {
      // The server lost the room's history (it restarted): start over
      // rather than show a gap as if nothing happened.
      $("log").replaceChildren();
      users.clear();
      renderUsers();
      return note("the server restarted: the room was reloaded, earlier messages are gone");
    }
    if (params.resumed.missed > 0) return note(`missed ${params.resumed.missed} events while away`);
    return note("reconnected: nothing missed");
  }
  const event = params.result;
  if (event.kind === "message") {
    const div = document.createElement("div");
    div.className = "msg" + (event.from === me ? " mine" : "");
    div.dataset.id = event.id;
    const from = document.createElement("div");
    from.className = "from";
    from.textContent = event.from;
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = event.text;
    div.append(from, text);
    addLine(div);
  } else if (event.kind === "joined") {
    users.add(event.name);
    renderUsers();
    note(`${event.name} joined`);
  } else if (event.kind === "left") {
    users.delete(event.name);
    renderUsers();
    note(`${event.name} left`);
  }
}

$("join").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("joinerror").textContent = "";
  const name = $("name").value.trim();
  const wanted = $("roomname").value.trim();
  // Subscribed before joining, so no event between the two is missed; a
  // refused join ends the subscription, so a retry does not listen twice.
  let subscription = null;
  try {
    subscription = await rpc.subscribe("chat_subscribe", [wanted], "chat_unsubscribe", onEvent);
    const present = await rpc.call("chat_join", [wanted, name]);
    me = name;
    room = wanted;
    present.forEach((n) => users.add(n));
    renderUsers();
    $("join").style.display = "none";
    $("room").classList.add("open");
    $("where").textContent = `#${room} as ${me}`;
    $("text").focus();
  } catch (err) {
    if (subscription !== null) rpc.unsubscribe(subscription).catch(() => {});
    // An invalid name or room says which in its data.
    $("joinerror").textContent = (err.data && err.data.what) || err.message || String(err);
  }
});

$("sendform").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  $("text").value = "";
  try {
    await rpc.call("chat_send", { room, text });
  } catch (err) {
    note(`not sent: ${err.message || err}`);
  }
});
