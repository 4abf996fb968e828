// The app side of MCP Apps, inlined in every card: JSON-RPC 2.0 over postMessage with the host (the
// ext-apps SDK's App class needs ~540 kB with its dependencies; a card needs a request, a notify and handlers).
const bridge = (() => {
  let nextId = 1;
  const pending = new Map();
  const handlers = {};
  const send = (message) => window.parent.postMessage({ jsonrpc: "2.0", ...message }, "*");
  window.addEventListener("message", (event) => {
    const m = event.data;
    if (event.source !== window.parent || !m || m.jsonrpc !== "2.0") return;
    if (m.method === undefined) {
      const waiting = pending.get(m.id);
      if (!waiting) return;
      pending.delete(m.id);
      if (m.error) waiting.reject(new Error(m.error.message || "request failed"));
      else waiting.resolve(m.result);
      return;
    }
    const handler = handlers[m.method];
    if (m.id === undefined) {
      if (handler) handler(m.params || {});
      return;
    }
    if (!handler) {
      send({ id: m.id, error: { code: -32601, message: "Method not found: " + m.method } });
      return;
    }
    Promise.resolve()
      .then(() => handler(m.params || {}))
      .then(
        (result) => send({ id: m.id, result: result || {} }),
        (error) => send({ id: m.id, error: { code: -32603, message: String(error) } }),
      );
  });
  return {
    request(method, params) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ id, method, params });
      });
    },
    notify(method, params) {
      send({ method, params });
    },
    on(method, handler) {
      handlers[method] = handler;
    },
  };
})();
