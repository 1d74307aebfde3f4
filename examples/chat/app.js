// A small JSON-RPC 2.0 client over one WebSocket, and the chat UI on top.
"use strict";

class RpcSocket {
  constructor(url) {
    this.nextId = 1;
    this.pending = new Map();       // id -> {resolve, reject}
    this.subscriptions = new Map(); // subscription id -> handler
    this.socket = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.socket.onopen = resolve;
      this.socket.onerror = reject;
    });
    this.socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.socket.onclose = () => {
      for (const { reject } of this.pending.values()) reject(new Error("connection closed"));
      this.pending.clear();
      this.onclose && this.onclose();
    };
  }

  call(method, params) {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  async subscribe(method, params, handler) {
    const id = await this.call(method, params);
    this.subscriptions.set(JSON.stringify(id), handler);
    return id;
  }

  unsubscribe(method, id) {
    this.subscriptions.delete(JSON.stringify(id));
    return this.call(method, [id]);
  }

  receive(message) {
    for (const one of Array.isArray(message) ? message : [message]) {
      if ("id" in one && !("method" in one)) {
        const waiter = this.pending.get(one.id);
        this.pending.delete(one.id);
        if (!waiter) continue;
        if (one.error) waiter.reject(one.error); else waiter.resolve(one.result);
      } else if (one.params && "subscription" in one.params) {
        const handler = this.subscriptions.get(JSON.stringify(one.params.subscription));
        if (handler) handler(one.params);
      }
    }
  }
}

const $ = (id) => document.getElementById(id);
const rpc = new RpcSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/rpc`);
let me = null;
let room = null;
const users = new Set();

rpc.opened.then(() => {
  $("dot").classList.add("on");
  $("conn").textContent = "connected";
  $("joinbtn").disabled = false;
}, () => { $("conn").textContent = "could not connect"; });
rpc.onclose = () => {
  $("dot").classList.remove("on");
  $("conn").textContent = "disconnected";
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
    subscription = await rpc.subscribe("chat_subscribe", [wanted], onEvent);
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
    if (subscription !== null) rpc.unsubscribe("chat_unsubscribe", subscription).catch(() => {});
    $("joinerror").textContent = err.message || String(err);
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
